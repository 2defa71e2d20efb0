"""A sweep killed without its clean-up (SIGKILL, the OOM killer) leaves no process behind:
its pool workers are children of the forkserver, not of the sweep, and hold both ends of
their task queue and of the forkserver's liveness pipe, so without a watch on the sweep they
and the forkserver would wait forever. Only the sweep process is killed here, not its group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from mlflow.tracking import MlflowClient

from tests.support.mlflow_cli import cli_env
from tests.support.sweeps import STEPS, sweep_cmd

pytestmark = pytest.mark.functional


def _wait_for(condition: object, deadline_s: float, what: str) -> None:
    assert callable(condition)
    end = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_a_killed_sweep_leaves_no_worker_forkserver_or_entry_point(
    tracking_uri: str, tmp_path: Path
) -> None:
    MlflowClient(tracking_uri).search_experiments()  # the store exists before the sweep
    args = (str(STEPS), "-P", "x=1,2,3", "-P", "steps=50", "--jobs", "2", "--metric", "score")
    sweep = subprocess.Popen(
        [*sweep_cmd(*args, "--env-manager", "local", tracking_uri=tracking_uri)],
        cwd=tmp_path,
        env=cli_env(tracking_uri, {"STEPS_DELAY": "1"}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    family: list[psutil.Process] = []
    try:
        root = psutil.Process(sweep.pid)

        def entry_points_running() -> bool:
            assert sweep.poll() is None, "the sweep ended before its trials ran"
            family[:] = root.children(recursive=True)
            with_steps = []
            for proc in family:
                try:
                    with_steps.append("steps.py" in " ".join(proc.cmdline()))
                except psutil.Error:
                    with_steps.append(False)
            return any(with_steps)  # a trial's entry point is running

        _wait_for(entry_points_running, 300, "two trials' entry points")
        assert any("forkserver" in " ".join(p.cmdline()) for p in family)
        sweep.send_signal(signal.SIGKILL)  # the sweep alone, not its process group
        sweep.wait(timeout=30)

        def all_gone() -> bool:
            return not [p for p in family if p.is_running() and p.status() != "zombie"]

        _wait_for(all_gone, 60, "the workers, the forkserver and the entry points to end")
    finally:
        for proc in family:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        if sweep.poll() is None:
            os.killpg(sweep.pid, signal.SIGKILL)
            sweep.wait()
