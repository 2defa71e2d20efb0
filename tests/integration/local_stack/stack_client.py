"""What the local-stack tests use to drive ``mlharness up`` as a user would: the CLI in a
subprocess, Airflow's and MLflow's REST APIs over HTTP, and /proc to see what still runs.
No module of mlharness is imported here: the stack is tested through its public interfaces.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
MLHARNESS = str(BIN / "mlharness")
EXAMPLE = REPO / "examples" / "rf-pipeline.yaml"


def workdir() -> Path:
    """A fresh directory the ``postgres`` user can traverse (pytest's tmp_path is 0700)."""
    root = Path(tempfile.mkdtemp(prefix="mlharness-stack-"))
    root.chmod(0o755)
    return root


def remove(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)


def example_copy(root: Path, webhook_file: Path) -> Path:
    """examples/rf-pipeline.yaml with short schedules, a retry delay of seconds and the
    test's webhook receiver; the project path made absolute (the copy lives elsewhere)."""
    config = yaml.safe_load(EXAMPLE.read_text())
    config["project"]["path"] = str((EXAMPLE.parent / config["project"]["path"]).resolve())
    config["schedule"] = None  # the test triggers every train run itself
    config["retry_delay_s"] = 3
    config["serving"] = {"reload_interval_s": 1}
    monitoring = config["monitoring"]
    monitoring["drift"]["schedule"] = None  # drift runs on the promotion's asset
    monitoring["scrape_interval_s"] = 1
    monitoring["evaluation_interval_s"] = 1
    monitoring["alert_for_s"] = 2
    monitoring["alerts"] = {
        "webhook_url_file": str(webhook_file),
        "group_wait_s": 1,
        "repeat_interval_s": 3600,
    }
    path = root / "rf-pipeline.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def cli(
    *args: str, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MLHARNESS, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def http_json(
    url: str,
    method: str = "GET",
    body: object | None = None,
    token: str | None = None,
    timeout: float = 30,
) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def http_text(url: str, timeout: float = 10) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return str(response.read().decode())


def wait_until(
    what: str, check: Callable[[], bool], deadline_s: float, every_s: float = 1.0
) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            if check():
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(every_s)
    raise AssertionError(f"timed out after {deadline_s:.0f} s waiting for: {what}")


def stack_processes(state_dir: Path) -> list[int]:
    """Every live process started by the stack in ``state_dir`` (marked in its environment)."""
    marker = f"MLHARNESS_STACK_DIR={state_dir.resolve()}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            status = (entry / "stat").read_text()
        except OSError:
            continue
        state = status[status.rindex(")") + 2 :].split()[0]
        if state != "Z" and marker in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Receiver:
    """Alertmanager's Slack-format webhook deliveries, recorded by a thread."""

    server: ThreadingHTTPServer
    bodies: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def titles(self) -> list[str]:
        return [
            str(a.get("title", ""))
            for body in list(self.bodies)
            for a in body.get("attachments", [])
        ]

    def delivered(self, prefix: str) -> bool:
        return any(t.startswith(prefix) for t in self.titles())

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_receiver() -> Receiver:
    bodies: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            with suppress(ValueError):
                bodies.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return Receiver(server, bodies)


@dataclass
class Up:
    """A running ``mlharness up`` (foreground, in its own session)."""

    process: subprocess.Popen[bytes]
    state_dir: Path
    log: Path

    def status(self) -> dict[str, Any]:
        done = cli("status", "--state-dir", str(self.state_dir), "--json", timeout=120)
        if not done.stdout.strip():
            raise ValueError(done.stderr)
        data: dict[str, Any] = json.loads(done.stdout)
        return data

    def service(self, name: str) -> dict[str, Any]:
        for service in self.status()["services"]:
            if service["name"] == name:
                return dict(service)
        raise KeyError(name)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def wait_for(self, needle: str, deadline_s: float) -> None:
        """Until up's own output says ``needle`` (cheaper than asking status again and
        again while the machine is busy starting the stack)."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if needle in self.log_tail(10**6):
                return
            if self.process.poll() is not None:
                raise AssertionError(
                    f"up exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            time.sleep(0.5)
        raise AssertionError(f"up did not say {needle!r} in {deadline_s:.0f} s:\n{self.log_tail()}")

    def wait_healthy(self, deadline_s: float) -> dict[str, Any]:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"up exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                status = self.status()
            except ValueError:
                status = {}
            if status.get("healthy"):
                return status
            time.sleep(2)
        raise AssertionError(f"the stack was not healthy in {deadline_s:.0f} s:\n{self.log_tail()}")


@contextmanager
def running_up(
    config: Path, state_dir: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[Up]:
    """``mlharness up CONFIG`` in the foreground; always brought down afterwards."""
    log = state_dir.parent / "up.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [MLHARNESS, "up", str(config), "--state-dir", str(state_dir), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    up = Up(process, state_dir, log)
    try:
        yield up
    finally:
        if process.poll() is None:
            cli("down", "--state-dir", str(state_dir), timeout=300)
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        for pid in stack_processes(state_dir):  # never leave a process behind
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)


class Airflow:
    """Airflow's REST API as the UI uses it: a token from the api-server's auth endpoint."""

    def __init__(self, url: str, user: str, password: str) -> None:
        self.url = url
        answer = http_json(f"{url}/auth/token", "POST", {"username": user, "password": password})
        self.token = str(answer["access_token"])

    def get(self, path: str) -> Any:
        return http_json(f"{self.url}/api/v2/{path}", token=self.token)

    def trigger(self, dag_id: str) -> str:
        run = http_json(
            f"{self.url}/api/v2/dags/{dag_id}/dagRuns",
            "POST",
            {"logical_date": None},
            token=self.token,
        )
        return str(run["dag_run_id"])

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        quoted = urllib.parse.quote(run_id, safe="")
        return dict(self.get(f"dags/{dag_id}/dagRuns/{quoted}"))

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return list(self.get(f"dags/{dag_id}/dagRuns")["dag_runs"])

    def tasks(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        quoted = urllib.parse.quote(run_id, safe="")
        answer = self.get(f"dags/{dag_id}/dagRuns/{quoted}/taskInstances")
        return {t["task_id"]: t for t in answer["task_instances"]}
