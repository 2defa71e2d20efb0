"""Real servers for integration tests: PostgreSQL and ``mlflow server``, on 127.0.0.1 only.

PostgreSQL refuses to run as root, so initdb/pg_ctl run as the ``postgres`` user in a
``mkdtemp`` directory chowned to it (pytest's tmp_path is 0700 root). The MLflow server
forks uvicorn, job-runner and huey processes, so it starts in its own session and is
stopped as a whole process group. Every server stops when its handle is stopped, and
the fixtures always stop them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from orchestration.processes import Started, free_port, group_alive, stop_group, wait_for_http
from tests.support.paths import VENV_BIN
from tests.support.watchdog import guard, session_owner, stop_process_group


@contextlib.contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` served by a thread on a free 127.0.0.1 port; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


PG_BIN_CANDIDATES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def pg_bin(tool: str) -> str:
    """Absolute path of a PostgreSQL server binary (initdb, pg_ctl)."""
    for directory in PG_BIN_CANDIDATES:
        candidate = directory / tool
        if candidate.exists():
            return str(candidate)
    found = shutil.which(tool)
    if found is None:
        raise FileNotFoundError(
            f"{tool} not found: install the Debian package 'postgresql' "
            "(listed in .ci/debian-packages.txt)"
        )
    return found


@dataclass
class Postgres:
    """A running PostgreSQL cluster in a temp dir; ``stop()`` removes it."""

    port: int
    data_dir: Path
    root: Path
    log_file: Path

    @property
    def url(self) -> str:
        """SQLAlchemy URL (psycopg 3 driver) of the ``postgres`` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run(
            [pg_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"],
            user=_pg_user(),
            capture_output=True,
            check=False,
            timeout=30,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def _pg_user() -> str | None:
    """Run PostgreSQL as 'postgres' when we are root (it refuses root), else as ourselves."""
    return "postgres" if os.geteuid() == 0 else None


def start_postgres(owner: int | None = None) -> Postgres:
    """initdb + pg_ctl start on a free port on 127.0.0.1 (about 1.5 s); it stops by itself
    (and its directory goes) once ``owner`` (default: this process) is gone."""
    root = Path(tempfile.mkdtemp(prefix="mlharness-pg-"))
    user = _pg_user()
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    data_dir = root / "data"
    log_file = root / "postgres.log"
    subprocess.run(
        [
            pg_bin("initdb"),
            "-D",
            str(data_dir),
            "--auth=trust",
            "--no-sync",
            "-U",
            "postgres",
            "--encoding=UTF8",
            "--locale=C",
        ],
        user=user,
        capture_output=True,
        check=True,
        timeout=120,
    )
    port = free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    subprocess.run(
        [
            pg_bin("pg_ctl"),
            "-D",
            str(data_dir),
            "-l",
            str(log_file),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        ],
        user=user,
        capture_output=True,
        check=True,
        timeout=90,
    )
    # pg_ctl starts the postmaster in a session of its own: its pid is its group.
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    guard(os.getpgid(postmaster), owner=owner, stop_signal=signal.SIGINT, remove=root)
    return Postgres(port=port, data_dir=data_dir, root=root, log_file=log_file)


@dataclass(frozen=True)
class AdoptedProcess:
    """The process group of a server another test process started (one server shared by
    the xdist workers): its pid and command, and whether it still runs."""

    pid: int
    args: list[str]

    def poll(self) -> int | None:
        return None if group_alive(self.pid) else 0

    def stop(self, grace_s: float) -> None:
        """SIGTERM the group, SIGKILL what is left after ``grace_s``."""
        stop_process_group(self.pid, grace_s)


@dataclass
class MlflowServer:
    """A running ``mlflow server``; ``stop()`` ends its whole process group."""

    url: str
    process: subprocess.Popen[bytes] | AdoptedProcess
    artifacts: Path
    log_file: Path
    extra: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        if isinstance(self.process, AdoptedProcess):
            self.process.stop(15)
        else:
            stop_group(self.process, 15)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_file.read_text(errors="replace")[-chars:] if self.log_file.exists() else ""


def start_mlflow_server(
    backend_uri: str, workdir: Path, timeout: float = 180.0, owner: int | None = None
) -> MlflowServer:
    """``mlflow server`` on a free 127.0.0.1 port with proxied artifacts in ``workdir``; it
    stops by itself once ``owner`` (default: this process) is gone.

    One worker and no job execution: /health answers in 10-13 s warm (DESIGN.md).
    """
    port = free_port()
    artifacts = workdir / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    log_file = workdir / "mlflow-server.log"
    env = dict(os.environ)
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [
        str(VENV_BIN / "mlflow"),
        "server",
        "--backend-store-uri",
        backend_uri,
        "--artifacts-destination",
        str(artifacts),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
            start_new_session=True,
        )
    guard(process.pid, owner=owner)
    server = MlflowServer(f"http://127.0.0.1:{port}", process, artifacts, log_file)
    try:
        wait_for_http(
            f"{server.url}/health", timeout, watch=Started("mlflow server", process, log_file)
        )
    except BaseException:
        server.stop()
        raise
    return server


@contextlib.contextmanager
def postgres_mlflow_server(workdir: Path) -> Iterator[tuple[Postgres, MlflowServer]]:
    """PostgreSQL plus an mlflow server backed by it; both stopped on exit."""
    postgres = start_postgres()
    try:
        server = start_mlflow_server(postgres.url, workdir)
        try:
            yield postgres, server
        finally:
            server.stop()
    finally:
        postgres.stop()


@contextlib.contextmanager
def _flocked(path: Path) -> Iterator[None]:
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def shared_postgres_mlflow_server(directory: Path) -> Iterator[MlflowServer]:
    """:func:`postgres_mlflow_server` shared by the test processes that use ``directory``
    (the xdist workers of one run): the first to ask starts PostgreSQL and the server, each
    one registers as a user under a file lock, and the last to leave stops both. A server
    start costs 10-20 s (most of it ``mlflow server``'s own start, not the migrations), once
    a run instead of once a worker."""
    directory.mkdir(parents=True, exist_ok=True)
    lock, record_file = directory / "server.lock", directory / "server.json"
    with _flocked(lock):
        if record_file.exists():
            record = json.loads(record_file.read_text())
            record["users"] += 1
        else:
            # shared by the workers: it lives as long as the run, not the worker that started it
            postgres = start_postgres(owner=session_owner())
            try:
                started = start_mlflow_server(
                    postgres.url, directory / "server", owner=session_owner()
                )
            except BaseException:
                postgres.stop()
                raise
            assert isinstance(started.process, subprocess.Popen)
            record = {
                "users": 1,
                "postgres": {
                    "port": postgres.port,
                    "data_dir": str(postgres.data_dir),
                    "root": str(postgres.root),
                    "log_file": str(postgres.log_file),
                },
                "server": {
                    "url": started.url,
                    "pid": started.process.pid,
                    "args": [str(arg) for arg in started.process.args],  # type: ignore[union-attr]
                    "artifacts": str(started.artifacts),
                    "log_file": str(started.log_file),
                },
            }
        record_file.write_text(json.dumps(record))
    pg = record["postgres"]
    postgres = Postgres(pg["port"], Path(pg["data_dir"]), Path(pg["root"]), Path(pg["log_file"]))
    info = record["server"]
    server = MlflowServer(
        info["url"],
        AdoptedProcess(info["pid"], info["args"]),
        Path(info["artifacts"]),
        Path(info["log_file"]),
    )
    try:
        yield server
    finally:
        with _flocked(lock):
            record = json.loads(record_file.read_text())
            record["users"] -= 1
            if record["users"] > 0:
                record_file.write_text(json.dumps(record))
            else:
                record_file.unlink()
                try:
                    server.stop()
                finally:
                    postgres.stop()
