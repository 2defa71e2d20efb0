"""Run ``mlflow run`` exactly as a user does, against a throwaway tracking store."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import MLFLOW, VENV_BIN


@dataclass(frozen=True)
class CliResult:
    """Exit code and output of one command."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def cli_env(tracking_uri: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a subprocess: this venv first on PATH, the given tracking store."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["MLFLOW_TRACKING_URI"] = tracking_uri
    env.pop("MLFLOW_EXPERIMENT_NAME", None)
    env.pop("MLFLOW_RUN_ID", None)
    env["PYTHONWARNINGS"] = "ignore"
    env.update(extra or {})
    return env


def mlflow_run(
    project: str | Path,
    params: Mapping[str, object] | None = None,
    *,
    tracking_uri: str,
    cwd: Path,
    entry_point: str = "main",
    env_manager: str | None = "local",
    experiment_name: str | None = None,
    timeout: float = 600,
) -> CliResult:
    """``mlflow run PROJECT -e ENTRY -P k=v ...`` in ``cwd``; never raises on failure."""
    command = [MLFLOW, "run", str(project), "-e", entry_point]
    if env_manager is not None:
        command += ["--env-manager", env_manager]
    if experiment_name:
        command += ["--experiment-name", experiment_name]
    for name, value in (params or {}).items():
        command += ["-P", f"{name}={value}"]
    done = subprocess.run(
        command,
        cwd=cwd,
        env=cli_env(tracking_uri),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


def assert_failed_fast(result: CliResult, needle: str, tracking_uri: str) -> None:
    """A bad-input ``mlflow run``: non-zero exit, exactly one ``error:`` line containing
    ``needle``, no traceback, and every run in the store FAILED with nothing logged."""
    from mlflow.tracking import MlflowClient

    assert result.returncode != 0
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and needle in error_lines[0], result.stderr
    assert "Traceback" not in result.stderr
    client = MlflowClient(tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments)
    assert runs, "the failed launch should still be recorded as a FAILED run"
    assert all(r.info.status == "FAILED" for r in runs), [r.info.status for r in runs]
    assert all(not r.data.metrics and not client.list_artifacts(r.info.run_id) for r in runs)
