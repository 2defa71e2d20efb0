"""A real Dask cluster on 127.0.0.1: a scheduler and workers as separate processes.

Commands as measured in DESIGN.md (the dashboard bound to 127.0.0.1:0, or it takes
0.0.0.0). Each process starts in its own session so a test can kill one worker with its
nanny and the entry points it runs, as a machine dying would; ``stop()`` ends them all.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.processes import free_port, wait_until
from tests.support.paths import VENV_BIN
from tests.support.watchdog import guard


@dataclass
class DaskCluster:
    """A running scheduler and its workers; ``address`` is the scheduler's tcp:// URL."""

    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def kill_worker(self, index: int) -> None:
        """SIGKILL worker ``index`` with its nanny and everything it started."""
        _kill_group(self.workers[index], signal.SIGKILL)

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler]:
            _kill_group(process, signal.SIGTERM)
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                _kill_group(process, signal.SIGKILL)
                process.wait(timeout=15)

    def log_tail(self, chars: int = 3000) -> str:
        return "\n".join(
            f"== {log.name}\n{log.read_text(errors='replace')[-chars:]}"
            for log in self.logs
            if log.exists()
        )


def _kill_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _start(command: list[str], log: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=dict(env), start_new_session=True
        )
    guard(process.pid)
    return process


def _workers_up(address: str, count: int, timeout: float) -> None:
    from distributed import Client

    with Client(address, timeout=f"{int(timeout)}s", set_as_default=False) as client:
        wait_until(
            f"{count} Dask worker(s)",
            lambda: len(client.scheduler_info()["workers"]) >= count,
            timeout,
            interval_s=0.2,
        )


@contextlib.contextmanager
def dask_cluster(
    workdir: Path, workers: int = 2, env: Mapping[str, str] | None = None, timeout: float = 120
) -> Iterator[DaskCluster]:
    """``dask scheduler`` and ``workers`` x ``dask worker`` (1 thread each), all stopped
    when the block ends, also on failure."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    full_env = {**os.environ, **(env or {})}
    full_env["PATH"] = f"{VENV_BIN}{os.pathsep}{full_env.get('PATH', '')}"
    full_env.pop("MLFLOW_RUN_ID", None)
    dask = str(VENV_BIN / "dask")
    quiet = ["--no-dashboard", "--dashboard-address", "127.0.0.1:0"]
    log = workdir / "scheduler.log"
    scheduler = _start(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), *quiet], log, full_env
    )
    cluster = DaskCluster(address, scheduler, logs=[log])
    try:
        for i in range(workers):
            local = workdir / f"worker-{i}"
            local.mkdir(parents=True, exist_ok=True)
            log = workdir / f"worker-{i}.log"
            cluster.logs.append(log)
            command = [dask, "worker", address, "--host", "127.0.0.1", "--nthreads", "1"]
            command += ["--nworkers", "1", *quiet, "--local-directory", str(local)]
            cluster.workers.append(_start(command, log, full_env))
        _workers_up(address, workers, timeout)
        yield cluster
    finally:
        cluster.stop()
