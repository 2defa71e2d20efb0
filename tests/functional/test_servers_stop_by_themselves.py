"""Servers a test starts stop by themselves when the test process is killed: the watcher of
``tests/support/watchdog.py`` stops the server's group, runs its cleanup and removes its
directory once the owner is gone, and exits on its own when the server stopped first."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestration.processes import wait_until
from tests.support.processes import group_running
from tests.support.watchdog import guard

pytestmark = [pytest.mark.functional]


def _sleeper() -> subprocess.Popen[bytes]:
    """A 'server': a process in a session of its own that forked a child of its own."""
    return subprocess.Popen(["sh", "-c", "sleep 600 & exec sleep 600"], start_new_session=True)


def test_a_killed_owner_leaves_no_server_and_no_directory(tmp_path: Path) -> None:
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    server = _sleeper()
    leftover = tmp_path / "server-dir"
    leftover.mkdir()
    marker = tmp_path / "cleaned"
    watcher = guard(server.pid, owner=owner.pid, cleanup=["touch", str(marker)], remove=leftover)
    try:
        time.sleep(1.5)  # a watcher that stops a live owner's server would do so by now
        assert group_running(server.pid) and leftover.exists() and watcher.poll() is None
        owner.kill()  # SIGKILL: nothing of the owner's own clean-up runs
        owner.wait()
        wait_until("the server's group stopped", lambda: not group_running(server.pid), 30)
        wait_until("the watcher exited", lambda: watcher.poll() is not None, 30)
        assert marker.exists() and not leftover.exists()
        assert server.wait(5) == -signal.SIGTERM
    finally:
        if owner.poll() is None:
            owner.kill()
        if group_running(server.pid):
            os.killpg(server.pid, signal.SIGKILL)
        owner.wait()
        server.wait()


def test_a_server_stopped_the_normal_way_ends_its_watcher(tmp_path: Path) -> None:
    server = _sleeper()
    kept = tmp_path / "kept"
    kept.mkdir()
    watcher = guard(server.pid, cleanup=["touch", str(tmp_path / "cleaned")], remove=kept)
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(10)
    wait_until("the watcher exited", lambda: watcher.poll() is not None, 30)
    assert watcher.returncode == 0
    # its owner (this process) still runs: no clean-up was done
    assert kept.exists() and not (tmp_path / "cleaned").exists()
