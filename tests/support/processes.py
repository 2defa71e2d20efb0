"""Whether a process (or anything in its process group) still runs."""

from __future__ import annotations

import os

import psutil

__all__ = ["group_running"]


def group_running(pid: int) -> bool:
    """True if ``pid`` or any process in the group it leads is alive and not a zombie.

    A process started with ``start_new_session`` leads its own group, so what it forked is
    in the group too. Zombies do not count: here PID 1 reaps orphans a moment late.
    """
    for process in psutil.process_iter(["status"]):
        try:
            if os.getpgid(process.pid) != pid and process.pid != pid:
                continue
        except (ProcessLookupError, PermissionError):
            continue
        if process.info["status"] != psutil.STATUS_ZOMBIE:
            return True
    return False
