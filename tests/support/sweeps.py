"""Run ``mlharness sweep`` as a user does, on the fast ``steps`` project."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from tests.support.mlflow_cli import CliResult, cli_env
from tests.support.paths import MLHARNESS, REPO
from tests.support.store_cli_forks import PRELOAD, Command, ForkedCli

STEPS = REPO / "tests" / "functional" / "sweep" / "steps"
# What a sweep command imports before its first trial (a ForkedCli for sweeps preloads it).
SWEEP_PRELOAD = (
    *PRELOAD,
    "mlflow.projects",
    "harness.run.operations",
    "harness.sweep.cli",
    "harness.sweep.operations",
    "harness.sweep.executors",
)


def sweep_cmd(*args: str, tracking_uri: str) -> list[str]:
    return [MLHARNESS, "sweep", *args, "--tracking-uri", tracking_uri]


def mlharness_sweep(
    *args: str,
    tracking_uri: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    forks: ForkedCli | None = None,
) -> CliResult:
    """``mlharness sweep ARGS --tracking-uri URI`` in ``cwd``; never raises on failure.

    With ``forks`` the command is a fork of that process, which imported the CLI and MLflow
    already (its own process all the same: argv, environment, cwd, exit code, and its own
    pool of trial workers); without, a cold ``mlharness`` process."""
    if forks is not None:
        command = Command(
            ["sweep", *args, "--tracking-uri", tracking_uri],
            cwd,
            tracking_uri=tracking_uri,
            env=env,
            timeout=timeout,
        )
        return forks.run(command)
    done = subprocess.run(
        sweep_cmd(*args, tracking_uri=tracking_uri),
        cwd=cwd,
        env=cli_env(tracking_uri, env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


def result_of(result: CliResult) -> Any:
    """The ``--json`` document (exit 0 or 1: a failed trial still prints the result)."""
    assert result.returncode in {0, 1}, result.output
    return json.loads(result.stdout)


def runs_of(tracking_uri: str) -> list[Run]:
    client = MlflowClient(tracking_uri)
    ids = [e.experiment_id for e in client.search_experiments()]
    return list(client.search_runs(ids)) if ids else []


def children_of(tracking_uri: str, parent: str) -> list[Run]:
    return [r for r in runs_of(tracking_uri) if r.data.tags.get("mlflow.parentRunId") == parent]


def summary(doc: Any) -> list[tuple[dict[str, str], str, float | None]]:
    """What must be equal between two sweeps: each trial's params, status and metric."""
    return [(t["params"], t["status"], t["value"]) for t in doc["trials"]]


def sweep_parents(tracking_uri: str) -> list[Run]:
    return [r for r in runs_of(tracking_uri) if "mlharness.sweep.definition" in r.data.tags]
