"""``executors._wait_for_exit``: how a pool worker knows its sweep is gone, through a pidfd
and through the polling fallback (a platform or sandbox without pidfds)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from harness.sweep import executors


def _returns_after_the_process_ends() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    done = threading.Event()
    watcher = threading.Thread(
        target=lambda: (executors._wait_for_exit(child.pid), done.set()), daemon=True
    )
    watcher.start()
    assert not done.wait(0.5)  # still running: still waiting
    assert child.stdin is not None
    child.stdin.close()
    child.wait()  # reaped, as the sweep's own parent would
    assert done.wait(10)
    executors._wait_for_exit(child.pid)  # gone already: returns at once


def test_pidfd() -> None:
    if not hasattr(os, "pidfd_open"):
        pytest.fail("this platform (Linux, Python 3.11) has os.pidfd_open")
    _returns_after_the_process_ends()


def test_polling_where_there_is_no_pidfd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "pidfd_open")
    _returns_after_the_process_ends()
