"""Real Git repositories and real Git servers on 127.0.0.1 for the remote-source tests.

``git daemon`` serves ``git://`` and ``git http-backend`` behind a tiny Python HTTP server
serves smart HTTP; both bind a free loopback port and are stopped by their context
managers (and killed if they do not stop).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from orchestration.processes import free_port, wait_until
from tests.support.servers import http_server
from tests.support.watchdog import guard

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a fixed identity; returns stdout."""
    done = subprocess.run(
        ["git", *args],
        cwd=repo,
        env={**os.environ, **GIT_IDENTITY},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


def make_repo(root: Path, projects: dict[str, Path]) -> str:
    """A git repo at ``root`` holding a copy of each project under its name; returns HEAD."""
    root.mkdir(parents=True, exist_ok=True)
    for name, source in projects.items():
        shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    (root / ".gitignore").write_text("__pycache__/\nmlruns/\n*.db\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "initial")
    return git(root, "rev-parse", "HEAD")


def commit_change(repo: Path, relative: str, text: str, message: str = "change") -> str:
    """Append ``text`` to a file, commit it, return the new HEAD."""
    path = repo / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(text)
    git(repo, "add", relative)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def git_daemon(base_path: Path) -> Iterator[str]:
    """Serve every repository under ``base_path`` at ``git://127.0.0.1:PORT/<name>``."""
    port = free_port()
    process = subprocess.Popen(
        [
            "git",
            "daemon",
            "--listen=127.0.0.1",
            f"--port={port}",
            "--reuseaddr",
            f"--base-path={base_path}",
            "--export-all",
            "--informative-errors",
            str(base_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    guard(process.pid)
    try:
        wait_until(
            f"git daemon on 127.0.0.1:{port}",
            lambda: _listening(port),
            15.0,
            interval_s=0.05,
            watch=process,
        )
        yield f"git://127.0.0.1:{port}"
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=10)


def _http_backend_handler(base_path: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """CGI bridge: each request runs ``git http-backend`` with the CGI variables."""

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            self._cgi()

        def do_POST(self) -> None:
            self._cgi()

        def _cgi(self) -> None:
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            env = {
                **os.environ,
                "GIT_PROJECT_ROOT": str(base_path),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_ADDR": "127.0.0.1",
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            }
            done = subprocess.run(
                ["git", "http-backend"],
                input=body,
                env=env,
                capture_output=True,
                timeout=60,
                check=False,
            )
            head, _, payload = done.stdout.partition(b"\r\n\r\n")
            if not _:
                head, _, payload = done.stdout.partition(b"\n\n")
            status, headers = 200, []
            for line in head.decode("latin-1").splitlines():
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@contextmanager
def smart_http(base_path: Path) -> Iterator[str]:
    """Serve every repository under ``base_path`` at ``http://127.0.0.1:PORT/<name>``."""
    with http_server(_http_backend_handler(base_path)) as url:
        yield url
