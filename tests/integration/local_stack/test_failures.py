"""``mlharness up`` when it cannot run: each failure is one line with its exit code, and
nothing is left running. Driven through the CLI only, like the proof."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration.local_stack.stack_client import (
    BIN,
    MLHARNESS,
    cli,
    example_copy,
    remove,
    stack_processes,
    workdir,
)

pytestmark = [pytest.mark.integration]


@pytest.fixture
def root() -> Iterator[Path]:
    path = workdir()
    try:
        yield path
    finally:
        for pid in stack_processes(path / "state"):  # a failing test leaves nothing either
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
        remove(path)


def _error_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_a_bad_config_is_one_line_exit_2_and_starts_nothing(root: Path) -> None:
    config = example_copy(root, root / "webhook_url")
    data = yaml.safe_load(config.read_text())
    data["colour"] = "blue"
    data["retries"] = -1
    config.write_text(yaml.safe_dump(data))
    done = cli("up", str(config), "--state-dir", str(root / "state"), timeout=300)
    assert done.returncode == 2, done.stderr
    line = _error_line(done)
    assert "colour" in line and "retries" in line
    assert not (root / "state").exists()


def test_a_missing_binary_names_its_package_exit_2(root: Path) -> None:
    config = example_copy(root, root / "webhook_url")
    env = {**os.environ, "PATH": str(BIN)}  # the venv only: no Debian monitoring binaries
    done = cli("up", str(config), "--state-dir", str(root / "state"), timeout=300, env=env)
    assert done.returncode == 2, done.stderr
    line = _error_line(done)
    assert "prometheus (Debian package prometheus)" in line
    assert "prometheus-alertmanager (Debian package prometheus-alertmanager)" in line
    assert not (root / "state").exists()


@pytest.mark.slow
def test_ctrl_c_stops_everything_then_a_corrupted_database_is_exit_5(root: Path) -> None:
    config = example_copy(root, root / "webhook_url")
    state = root / "state"
    log = root / "up.log"
    with log.open("wb") as out:
        up = subprocess.Popen(
            [MLHARNESS, "up", str(config), "--state-dir", str(state)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = 300
        while "postgres: healthy in" not in log.read_text() and deadline > 0:
            assert up.poll() is None, log.read_text()
            deadline -= 1
            time.sleep(1)
        assert stack_processes(state), "up started nothing"
        os.killpg(up.pid, signal.SIGINT)  # Ctrl-C in the terminal that runs up
        assert up.wait(timeout=180) == 0, log.read_text()
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
    assert "stopped" in log.read_text()
    assert stack_processes(state) == []

    # The state dir is this stack's: another stack cannot take it.
    other = yaml.safe_load(config.read_text())
    other["name"] = "other"
    other_config = root / "other.yaml"
    other_config.write_text(yaml.safe_dump(other))
    done = cli("up", str(other_config), "--state-dir", str(state), timeout=300)
    assert done.returncode == 2, done.stderr
    assert "belongs to stack 'rf'" in _error_line(done)

    # A corrupted PostgreSQL data dir: PostgreSQL cannot become healthy, exit 5.
    control = state / "postgres" / "data" / "global" / "pg_control"
    control.write_bytes(b"\0" * control.stat().st_size)
    done = cli("up", str(config), "--state-dir", str(state), timeout=600)
    assert done.returncode == 5, done.stderr
    line = _error_line(done)
    assert line.startswith("error: postgres ") and str(state / "logs" / "postgres.log") in line
    assert stack_processes(state) == []
