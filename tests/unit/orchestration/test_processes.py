"""The demo's supervisor: every process group it started is gone when its block ends,
however it ends (normal end, an exception, SIGTERM), including what those processes forked.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from orchestration.processes import Supervisor, supervised
from tests.support.processes import group_running

# A shell that forks a grandchild and waits: stopping only the shell would leave it behind.
FORKING = ["sh", "-c", "sleep 300 & echo started; wait"]


def _gone(pid: int) -> bool:
    return not group_running(pid)


def _wait_for_line(path: Path, text: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {path}")


def test_a_block_that_raises_stops_every_group_it_started(tmp_path: Path) -> None:
    pids: list[int] = []
    with pytest.raises(RuntimeError), supervised(tmp_path) as supervisor:
        for name in ("one", "two"):
            entry = supervisor.start(name, FORKING)
            pids.append(entry.process.pid)
            _wait_for_line(entry.log_file, "started")
        raise RuntimeError("a step failed")
    assert all(_gone(pid) for pid in pids)
    assert [e.process.pid for e in supervisor.history] == pids
    assert supervisor.pids() == []


def test_run_waits_for_the_command_and_stops_what_it_left_behind(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path, grace_s=5)
    # The shell exits at once; the sleep it forked in its group would outlive it.
    done = supervisor.run("leaves-a-child", ["sh", "-c", "sleep 300 & echo hi"], timeout_s=30)
    assert (done.returncode, done.timed_out) == (0, False)
    assert "hi" in done.log()
    assert _gone(supervisor.history[0].process.pid)

    slow = supervisor.run("too-slow", ["sleep", "300"], timeout_s=0.5)
    assert slow.timed_out
    assert _gone(supervisor.history[1].process.pid)
    assert supervisor.started == []


def test_sigterm_to_the_supervising_process_stops_its_groups(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids.json"
    script = textwrap.dedent(
        f"""
        import json, time
        from pathlib import Path
        from orchestration.processes import supervised

        with supervised(Path({str(tmp_path)!r}) / "logs") as supervisor:
            entry = supervisor.start("server", {FORKING!r})
            Path({str(pid_file)!r}).write_text(json.dumps([entry.process.pid]))
            time.sleep(300)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parents[3])
    try:
        _wait_for_line(pid_file, "[")
        _wait_for_line(tmp_path / "logs" / "server.log", "started")
        (child,) = json.loads(pid_file.read_text())
        assert not _gone(child)
        parent.send_signal(signal.SIGTERM)
        parent.wait(timeout=30)
        assert _gone(child)
    finally:
        parent.kill()
        parent.wait()
