"""Background processes that are always stopped: on success, on failure and on Ctrl-C.

The demo (and anything else that starts servers for a while) starts each process in a new
session, so stopping its process group also stops what it forked (uvicorn workers, the
scheduler's children); :class:`Supervisor` stops every group it started when its block
ends, however it ends, and SIGTERM is turned into the same clean exit as Ctrl-C.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from harness.kernel.errors import ExternalServiceError

_T = TypeVar("_T")

__all__ = [
    "Finished",
    "NotReady",
    "Started",
    "Supervisor",
    "free_port",
    "group_alive",
    "http_ok",
    "stop_group",
    "supervised",
    "wait_for_http",
    "wait_http_ok",
    "wait_until",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Started:
    """One process the supervisor started, with where its output goes."""

    name: str
    process: subprocess.Popen[bytes]
    log_file: Path
    # What stops it cleanly (PostgreSQL: SIGINT, its fast shutdown).
    stop_signal: signal.Signals = signal.SIGTERM

    def log_tail(self, chars: int = 2000) -> str:
        """The end of the process's log, for an error message."""
        if not self.log_file.exists():
            return ""
        return self.log_file.read_text(errors="replace")[-chars:]


@dataclass(frozen=True)
class Finished:
    """A command :meth:`Supervisor.run` ran to its end (or stopped at its timeout)."""

    name: str
    returncode: int
    timed_out: bool
    log_file: Path

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""


def group_alive(pgid: int) -> bool:
    """True while a process of group ``pgid`` runs; zombies do not count (an orphan whose
    leader exited waits for PID 1 to reap it, which here happens a moment late)."""
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: ask the kernel, zombies included
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # it ended while we looked
            continue
        # pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def stop_group(
    process: subprocess.Popen[bytes], grace_s: float, signum: signal.Signals = signal.SIGTERM
) -> None:
    """SIGTERM (or ``signum``) the whole group, SIGKILL what is left after ``grace_s``. The
    group is signalled even when its leader has already exited: what the leader forked may
    not have."""
    pgid = process.pid
    if process.poll() is not None and not group_alive(pgid):
        return
    _signal_group(pgid, signum)
    deadline = time.monotonic() + grace_s
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if process.poll() is None or group_alive(pgid):
        _signal_group(pgid, signal.SIGKILL)
        process.wait(timeout=grace_s)


@dataclass
class Supervisor:
    """Starts processes in their own sessions and stops all of them, newest first."""

    log_dir: Path
    grace_s: float = 10.0
    started: list[Started] = field(default_factory=list)
    # Everything ever started (also stopped or finished): what a caller reports and a test
    # checks is gone.
    history: list[Started] = field(default_factory=list)
    # Told of each process as soon as it started (e.g. to record its pid on disk at once).
    on_start: Callable[[Started], None] | None = None

    def start(
        self,
        name: str,
        command: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
        append: bool = False,
    ) -> Started:
        """Start ``command`` in the background; its output goes to ``<log_dir>/<name>.log``
        (``append``: after what an earlier start wrote). ``user``: run as that user (needs
        root); ``stop_signal``: what :meth:`stop` sends first."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_file = self.log_dir / f"{name}.log"
        with log_file.open("ab" if append else "wb") as log:
            process = subprocess.Popen(
                list(command),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                start_new_session=True,
                user=user,
            )
        entry = Started(name, process, log_file, stop_signal)
        self.started.append(entry)
        self.history.append(entry)
        if self.on_start is not None:
            self.on_start(entry)
        return entry

    def run(
        self,
        name: str,
        command: Sequence[str],
        *,
        timeout_s: float,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Finished:
        """Run ``command`` to its end in its own session, like :meth:`start`, then stop its
        group (so nothing it forked outlives it); a command that outlives ``timeout_s`` is
        stopped and reported with ``timed_out``."""
        entry = self.start(name, command, env=env, cwd=cwd)
        timed_out = False
        try:
            entry.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            self.stop(entry)
        code = entry.process.returncode
        return Finished(name, code, timed_out, entry.log_file)

    def stop(self, entry: Started) -> None:
        """Stop one process group (and forget it)."""
        stop_group(entry.process, self.grace_s, entry.stop_signal)
        if entry in self.started:
            self.started.remove(entry)

    def stop_all(self) -> None:
        """Stop every process still running, newest first."""
        while self.started:
            self.stop(self.started[-1])

    def pids(self) -> list[int]:
        """Process ids of everything started and not yet stopped."""
        return [entry.process.pid for entry in self.started]


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def supervised(log_dir: Path) -> Iterator[Supervisor]:
    """A supervisor whose processes are stopped when the block ends, also on SIGTERM."""
    supervisor = Supervisor(log_dir)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield supervisor
    finally:
        supervisor.stop_all()
        signal.signal(signal.SIGTERM, previous)


class NotReady(ExternalServiceError):
    """What :func:`wait_until` waited for did not happen: its deadline passed, or the
    process that was to bring it about exited first (exit 5, as any service that fails)."""


def wait_until(
    what: str,
    condition: Callable[[], _T],
    timeout_s: float,
    *,
    interval_s: float = 0.25,
    watch: Started | subprocess.Popen[Any] | None = None,
) -> _T:
    """Call ``condition`` every ``interval_s`` until it returns something truthy, and
    return that. ``what`` names the awaited event for the error ("http://h/ping to answer").
    With ``watch``, a process that exits first fails at once, with the end of its log,
    instead of at the deadline. The one polling loop of the project: servers' readiness in
    the demo, ``mlharness up`` and the tests' server fixtures all wait through it."""
    deadline = time.monotonic() + timeout_s
    while True:
        process = watch.process if isinstance(watch, Started) else watch
        if process is not None and process.poll() is not None:
            name = watch.name if isinstance(watch, Started) else f"process {process.pid}"
            tail = f"; its log ends:\n{watch.log_tail()}" if isinstance(watch, Started) else ""
            raise NotReady(
                f"{name} exited with code {process.returncode} while waiting for {what}{tail}"
            )
        last = condition()
        if last:
            return last
        if time.monotonic() >= deadline:
            break
        time.sleep(interval_s)
    seen = "" if last is None or last is False else f" (last: {last!r})"
    log = f"; log: {watch.log_file}" if isinstance(watch, Started) else ""
    raise NotReady(f"waited {timeout_s:.0f} s for {what}{seen}{log}")


def http_ok(url: str, timeout_s: float = 2.0) -> bool:
    """Whether ``GET url`` answers 200 now (a refused connection or an error status: no)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return bool(response.status == 200)
    except (OSError, http.client.HTTPException):  # URLError and HTTPError are OSErrors
        return False


def wait_for_http(
    url: str,
    timeout_s: float,
    *,
    watch: Started | subprocess.Popen[Any] | None = None,
    interval_s: float = 0.25,
) -> None:
    """Wait until ``GET url`` answers 200 (see :func:`wait_until`)."""
    wait_until(
        f"{url} to answer", lambda: http_ok(url), timeout_s, interval_s=interval_s, watch=watch
    )


def wait_http_ok(url: str, entry: Started, timeout_s: float) -> None:
    """The demo's spelling of ``wait_for_http(url, timeout_s, watch=entry)``; goes once the
    demo's steps call :func:`wait_for_http`."""
    wait_for_http(url, timeout_s, watch=entry)
