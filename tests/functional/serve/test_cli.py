"""``mlharness serve`` as a command: the dry-run plan, and clean refusals (exit 2)."""

from __future__ import annotations

import json
import socket
import subprocess

import pytest

from tests.support.paths import MLHARNESS
from tests.support.serve_server import Store

pytestmark = pytest.mark.functional


def _serve(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MLHARNESS, "serve", *args, "--tracking-uri", store.uri],
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_dry_run_resolves_the_alias_and_serves_nothing(serve_store: Store) -> None:
    done = _serve(serve_store, "models:/rf@champion", "--port", "8765", "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["dry_run"] is True
    assert (plan["name"], plan["alias"], plan["version"]) == ("rf", "champion", "1")
    assert plan["url"] == "http://127.0.0.1:8765" and plan["reload"] is True
    assert "/metrics" in plan["routes"]


def test_unknown_alias_and_busy_port_are_one_line_errors(serve_store: Store) -> None:
    done = _serve(serve_store, "models:/rf@nobody", "--port", "8765", "--dry-run")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: models:/rf@nobody") and "Traceback" not in done.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _serve(serve_store, "models:/rf@champion", "--port", str(port))
    assert done.returncode == 2, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
