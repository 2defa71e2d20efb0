"""The state directory of a local stack: where everything lives, who owns it, who runs it.

``stack.json`` names the stack that owns the directory (its pipeline and config file), so
a second stack cannot take it over; ``supervisor.lock`` is held (``flock``) by the running
``up`` for its whole life, so a second ``up`` sees it running; ``state.json`` is what
``status`` and ``down`` read: the supervisor's pid, every process group, port and log.
Databases, runs, models and metrics stay under the directory between ``up``s.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from harness.kernel.atomic import write_text_atomic
from harness.kernel.errors import MlharnessError

__all__ = [
    "STATE_VERSION",
    "StackError",
    "StackPaths",
    "claim",
    "default_state_dir",
    "held_lock",
    "lock_is_held",
    "read_state",
    "write_secret",
    "write_state",
]

STATE_VERSION = 1


class StackError(MlharnessError):
    """The stack cannot start here: a foreign or running state dir, a missing binary."""


def default_state_dir(name: str) -> Path:
    return Path(".mlharness") / "stack" / name


@dataclass(frozen=True)
class StackPaths:
    """Every path of one stack's state directory."""

    root: Path

    @property
    def owner_file(self) -> Path:
        return self.root / "stack.json"

    @property
    def lock_file(self) -> Path:
        return self.root / "supervisor.lock"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pipeline(self) -> Path:
        """What ``mlharness airflow render`` writes for this config (DAGs, .env, compose)."""
        return self.root / "airflow"

    @property
    def dags(self) -> Path:
        return self.pipeline / "dags"

    @property
    def env_file(self) -> Path:
        return self.pipeline / ".env"

    @property
    def monitoring(self) -> Path:
        """What ``mlharness monitor render`` writes, pointed at this stack's addresses."""
        return self.root / "monitoring"

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow-home"

    @property
    def passwords_file(self) -> Path:
        """The Airflow admin's password (SimpleAuthManager's file, 0600)."""
        return self.airflow_home / "passwords.json"

    @property
    def postgres(self) -> Path:
        return self.root / "postgres"

    @property
    def pg_data(self) -> Path:
        return self.postgres / "data"

    @property
    def redis_conf(self) -> Path:
        return self.root / "redis" / "redis.conf"


def claim(paths: StackPaths, name: str, config: Path) -> None:
    """Make ``paths.root`` this stack's, or refuse (exit 2) when another stack owns it."""
    owner = {"stack": name, "config": str(config.resolve())}
    if paths.owner_file.is_file():
        try:
            found = json.loads(paths.owner_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StackError(
                f"{paths.owner_file} is unreadable ({exc})",
                hint="remove the state directory or choose another --state-dir",
            ) from exc
        if found.get("stack") != name or found.get("config") != owner["config"]:
            raise StackError(
                f"state dir {paths.root} belongs to stack {found.get('stack')!r} "
                f"({found.get('config')})",
                hint="choose another --state-dir",
            )
        return
    if paths.root.exists() and any(paths.root.iterdir()):
        raise StackError(
            f"state dir {paths.root} is not empty and holds no stack ({paths.owner_file.name})",
            hint="choose an empty or new --state-dir",
        )
    paths.root.mkdir(parents=True, exist_ok=True)
    write_text_atomic(paths.owner_file, json.dumps(owner, indent=2) + "\n")


@contextlib.contextmanager
def held_lock(paths: StackPaths) -> Iterator[IO[str]]:
    """Hold the supervisor lock for the block; a running stack makes this fail (exit 2)."""
    paths.root.mkdir(parents=True, exist_ok=True)
    handle = paths.lock_file.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            state = read_state(paths)
            raise StackError(
                f"the stack in {paths.root} is already running "
                f"(supervisor pid {state.get('supervisor_pid', '?')})",
                hint="mlharness status / mlharness down",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield handle
    finally:
        handle.close()


def lock_is_held(paths: StackPaths) -> bool:
    """True while an ``up`` holds the lock of this state dir."""
    if not paths.lock_file.exists():
        return False
    with paths.lock_file.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def read_state(paths: StackPaths) -> dict[str, Any]:
    try:
        data = json.loads(paths.state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_state(paths: StackPaths, state: dict[str, Any]) -> None:
    write_text_atomic(paths.state_file, json.dumps(state, indent=2, sort_keys=True) + "\n")


def write_secret(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by its owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:  # mkstemp: mode 0600
            out.write(text)
        os.replace(name, path)
    finally:
        Path(name).unlink(missing_ok=True)
