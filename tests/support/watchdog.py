"""Servers a test starts stop by themselves, even when the test process is killed.

Fixtures stop their servers when their blocks end; a pytest that is killed (SIGKILL, a
cancelled CI job, a crashed xdist worker) never runs that code, and every server runs in a
session of its own, so nothing else would stop it. :func:`guard` therefore gives each
server a small watcher process (``python -m tests.support.watchdog``) in a session of its
own: once the test process that owns the server is gone, it stops the server's process
group (SIGTERM, then SIGKILL), runs the server's cleanup command and removes its directory.
It exits by itself as soon as the server has stopped, so a server stopped the normal way
leaves nothing behind either.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from orchestration.processes import group_alive
from tests.support.paths import REPO

POLL_S = 1.0
GRACE_S = 10.0


def session_owner() -> int:
    """The process whose end means the test run is over: the xdist controller for a worker
    (its parent), else this process."""
    return os.getppid() if "PYTEST_XDIST_WORKER" in os.environ else os.getpid()


def guard(
    pgid: int,
    *,
    owner: int | None = None,
    stop_signal: signal.Signals = signal.SIGTERM,
    cleanup: Sequence[str] = (),
    cleanup_user: str | None = None,
    remove: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Watch the process group ``pgid`` on behalf of ``owner`` (default: this process).

    ``stop_signal`` asks the group to stop (PostgreSQL: SIGINT, its fast shutdown) before
    SIGKILL; ``cleanup`` is a command run (as ``cleanup_user``) after the group is stopped, e.g.
    ``pg_ctl stop`` for a PostgreSQL that daemonized out of the group; ``remove`` is a
    directory deleted last. Returns the watcher, which nobody has to wait for."""
    owner_pid = os.getpid() if owner is None else owner
    command = [
        sys.executable,
        "-m",
        "tests.support.watchdog",
        "--owner",
        str(owner_pid),
        "--owner-started",
        repr(psutil.Process(owner_pid).create_time()),
        "--group",
        str(pgid),
        "--signal",
        str(int(stop_signal)),
    ]
    if cleanup_user is not None:
        command += ["--cleanup-user", cleanup_user]
    if remove is not None:
        command += ["--remove", str(remove)]
    command += ["--", *cleanup]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=REPO,
        start_new_session=True,
    )


def _owner_alive(pid: int, started: float) -> bool:
    """The owner still runs (and its pid was not reused by another process)."""
    try:
        process = psutil.Process(pid)
        return bool(process.create_time() == started and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def stop_process_group(pgid: int, grace_s: float, stop_signal: int = signal.SIGTERM) -> None:
    """``stop_signal`` to the group, SIGKILL what is left after ``grace_s``; returns once no
    process of the group runs (zombies do not count: PID 1 reaps orphans a moment late) or
    ``grace_s`` after the SIGKILL. For a group whose leader is not our child (no ``Popen``
    to wait on: see ``orchestration.processes.stop_group`` for one that is)."""
    for signum in (stop_signal, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signum)
        deadline = time.monotonic() + grace_s
        while group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not group_alive(pgid):
            return


def watch(
    owner: int,
    owner_started: float,
    pgid: int,
    stop_signal: int,
    cleanup: Sequence[str],
    cleanup_user: str | None,
    remove: Path | None,
) -> bool:
    """Wait until the server stops (False) or its owner is gone (the server is stopped and
    cleaned up: True)."""
    while group_alive(pgid):
        if not _owner_alive(owner, owner_started):
            stop_process_group(pgid, GRACE_S, stop_signal)
            if cleanup:
                subprocess.run(
                    list(cleanup), user=cleanup_user, capture_output=True, timeout=60, check=False
                )
            if remove is not None:
                shutil.rmtree(remove, ignore_errors=True)
            return True
        time.sleep(POLL_S)
    return False


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.watchdog")
    parser.add_argument("--owner", type=int, required=True)
    parser.add_argument("--owner-started", type=float, required=True)
    parser.add_argument("--group", type=int, required=True)
    parser.add_argument("--signal", type=int, default=int(signal.SIGTERM))
    parser.add_argument("--cleanup-user")
    parser.add_argument("--remove", type=Path)
    parser.add_argument("cleanup", nargs="*")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C meant for pytest is not for us
    watch(
        args.owner,
        args.owner_started,
        args.group,
        args.signal,
        args.cleanup,
        args.cleanup_user,
        args.remove,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
