"""Run ``mlharness`` as a user does (a subprocess) and read the store back."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from tests.support.mlflow_cli import CliResult, cli_env
from tests.support.paths import MLHARNESS, REPO

TINY = REPO / "tests" / "functional" / "harness" / "tiny"


def mlharness(
    *args: str,
    tracking_uri: str,
    cwd: Path,
    timeout: float = 600,
    env: dict[str, str] | None = None,
) -> CliResult:
    """``mlharness ARGS --tracking-uri URI`` in ``cwd``; never raises on failure."""
    command = [MLHARNESS, *args]
    if args and args[0] in {"run", "show", "replay", "verify"}:
        command += ["--tracking-uri", tracking_uri]
    done = subprocess.run(
        command,
        cwd=cwd,
        env=cli_env(tracking_uri, env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


def json_of(result: CliResult) -> Any:
    """The JSON document a ``--json`` command printed on stdout."""
    assert result.returncode in {0, 1}, result.output
    return json.loads(result.stdout)


def all_runs(tracking_uri: str) -> list[Run]:
    """Every run in every experiment of the store, newest first."""
    client = MlflowClient(tracking_uri)
    ids = [e.experiment_id for e in client.search_experiments()]
    return list(client.search_runs(ids, order_by=["attributes.start_time DESC"])) if ids else []


def manifest_of(tracking_uri: str, run_id: str, tmp: Path) -> Any:
    """The manifest artifact of a run, read straight from the store."""
    import mlflow.artifacts

    local = mlflow.artifacts.download_artifacts(
        run_id=run_id,
        artifact_path="mlharness/manifest.json",
        dst_path=str(tmp),
        tracking_uri=tracking_uri,
    )
    return json.loads(Path(local).read_text())
