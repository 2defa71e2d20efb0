"""Real monitoring servers for tests, on 127.0.0.1 only, state in a temp dir.

Debian's prometheus, prometheus-alertmanager (gossip off: an empty
``--cluster.listen-address``, else it binds 0.0.0.0:9094), prometheus-blackbox-exporter
and prometheus-pushgateway, started with the commands DESIGN.md measured; ``mlharness
serve`` in its own session (it may fork workers); and a webhook receiver in a thread that
records what Alertmanager delivers. Every handle has ``stop()``; the tests always call it.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from orchestration import processes
from orchestration.processes import Started, free_port, stop_group, wait_for_http
from tests.support.paths import VENV_BIN
from tests.support.watchdog import guard

__all__ = [
    "Receiver",
    "Server",
    "get_json",
    "start_alertmanager",
    "start_blackbox",
    "start_prometheus",
    "start_pushgateway",
    "start_receiver",
    "start_serve",
    "wait_until",
]


@dataclass
class Server:
    """A server process, its URL and log; ``stop()`` ends its whole process group."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_file: Path

    @property
    def address(self) -> str:
        return self.url.removeprefix("http://")

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        stop_group(self.process, 20)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_file.read_text(errors="replace")[-chars:] if self.log_file.exists() else ""


def _start(
    name: str,
    command: Sequence[str],
    port: int,
    workdir: Path,
    ready_path: str,
    timeout: float,
    env: dict[str, str] | None = None,
) -> Server:
    log_file = workdir / f"{name}.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=env,
            start_new_session=True,
        )
    guard(process.pid)
    server = Server(name, f"http://127.0.0.1:{port}", process, log_file)
    try:
        wait_for_http(server.url + ready_path, timeout, watch=Started(name, process, log_file))
    except BaseException:
        server.stop()
        raise
    return server


def start_prometheus(config: Path, workdir: Path, port: int | None = None) -> Server:
    """``prometheus`` on ``config`` with its TSDB in ``workdir``."""
    port = port or free_port()
    data = workdir / "prometheus-data"
    data.mkdir(parents=True, exist_ok=True)
    command = [
        "prometheus",
        f"--config.file={config}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--storage.tsdb.path={data}",
        # An alert that fires on the first evaluation (Watchdog) is sent before the notifier
        # knows the Alertmanager and dropped; it goes again after this delay (default: 1m).
        "--rules.alert.resend-delay=2s",
    ]
    return _start("prometheus", command, port, workdir, "/-/ready", 60)


def start_alertmanager(config: Path, workdir: Path, port: int | None = None) -> Server:
    """``prometheus-alertmanager`` with gossip off and its state in ``workdir``."""
    port = port or free_port()
    data = workdir / "alertmanager-data"
    data.mkdir(parents=True, exist_ok=True)
    command = [
        "prometheus-alertmanager",
        f"--config.file={config}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        f"--storage.path={data}",
    ]
    return _start("alertmanager", command, port, workdir, "/-/ready", 60)


def start_blackbox(config: Path, workdir: Path, port: int | None = None) -> Server:
    port = port or free_port()
    command = [
        "prometheus-blackbox-exporter",
        f"--config.file={config}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    return _start("blackbox", command, port, workdir, "/-/ready", 60)


def start_pushgateway(workdir: Path, port: int | None = None) -> Server:
    port = port or free_port()
    command = ["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{port}"]
    return _start("pushgateway", command, port, workdir, "/-/ready", 60)


def start_serve(
    model_uri: str,
    tracking_uri: str,
    workdir: Path,
    port: int | None = None,
    extra: Sequence[str] = (),
    timeout: float = 180,
) -> Server:
    """``mlharness serve MODEL`` on 127.0.0.1; ready when /ping answers."""
    port = port or free_port()
    env = dict(os.environ)
    env["MLFLOW_TRACKING_URI"] = tracking_uri
    command = [
        str(VENV_BIN / "mlharness"),
        "serve",
        model_uri,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--tracking-uri",
        tracking_uri,
        *extra,
    ]
    return _start("serve", command, port, workdir, "/ping", timeout, env=env)


@dataclass
class Receiver:
    """An HTTP receiver in a thread: every JSON body POSTed to it, in arrival order."""

    server: ThreadingHTTPServer
    thread: threading.Thread
    bodies: list[dict[str, object]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/alerts"

    def received(self) -> list[dict[str, object]]:
        with self.lock:
            return list(self.bodies)

    def titles(self) -> list[str]:
        """The Slack-format titles delivered (``[FIRING] Alert (severity, service)``)."""
        found = []
        for body in self.received():
            attachments = body.get("attachments")
            for attachment in attachments if isinstance(attachments, list) else []:
                if isinstance(attachment, dict):
                    found.append(str(attachment.get("title", "")))
        return found

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def start_receiver() -> Receiver:
    """A webhook receiver on a free 127.0.0.1 port."""
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = {"raw": raw.decode(errors="replace")}
            with holder[0].lock:
                holder[0].bodies.append(body)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="receiver", daemon=True)
    receiver = Receiver(server, thread)
    holder.append(receiver)
    thread.start()
    return receiver


def get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=10) as response:
        data = json.loads(response.read())
    assert isinstance(data, dict), data
    return data


def wait_until(
    what: str, condition: Callable[[], object], timeout: float, interval: float = 0.5
) -> None:
    """``orchestration.processes.wait_until`` for a test: a generous deadline, never a timed
    assert; a miss is an ``AssertionError`` (a failed test, not an error)."""
    try:
        processes.wait_until(what, condition, timeout, interval_s=interval)
    except processes.NotReady as exc:
        raise AssertionError(exc.one_line()) from None
