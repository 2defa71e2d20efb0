"""``orchestration.processes.wait_until`` / ``wait_for_http``: the one polling loop that
every server fixture, the demo and ``mlharness up`` wait through."""

from __future__ import annotations

import http.server
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.kernel.errors import ExitCode
from orchestration.processes import NotReady, http_ok, supervised, wait_for_http, wait_until
from tests.support.servers import http_server


@pytest.fixture
def server() -> Iterator[str]:
    """A real HTTP server on a free loopback port: ``/ok`` answers 200, anything else 404."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/ok" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with http_server(Handler) as url:
        yield url


def test_wait_until_returns_the_first_truthy_value() -> None:
    answers = iter([None, 0, "", "ready"])
    assert wait_until("the answer", lambda: next(answers), 30, interval_s=0.01) == "ready"


def test_a_deadline_is_exit_5_naming_what_was_awaited_and_the_last_answer() -> None:
    with pytest.raises(NotReady) as caught:
        wait_until("three workers", lambda: [], 0.2, interval_s=0.05)
    assert caught.value.exit_code == ExitCode.EXTERNAL
    assert caught.value.one_line() == "waited 0 s for three workers (last: [])"


def test_a_watched_process_that_exits_fails_at_once_with_its_log(tmp_path: Path) -> None:
    with supervised(tmp_path / "logs") as supervisor:
        entry = supervisor.start("crasher", ["sh", "-c", "echo port already in use; exit 3"])
        began = time.monotonic()
        with pytest.raises(NotReady) as caught:
            wait_until("the crasher to listen", lambda: False, 120, interval_s=0.05, watch=entry)
    assert time.monotonic() - began < 60  # long before the deadline
    text = caught.value.one_line()
    assert text.startswith("crasher exited with code 3 while waiting for the crasher to listen")
    assert "port already in use" in text


def test_wait_for_http_waits_for_a_200(server: str) -> None:
    assert http_ok(f"{server}/ok") and not http_ok(f"{server}/missing")
    wait_for_http(f"{server}/ok", 30)
    with pytest.raises(NotReady, match=r"waited 0 s for http://127\.0\.0\.1:\d+/missing to answer"):
        wait_for_http(f"{server}/missing", 0.3, interval_s=0.05)
