"""State mlharness stores in MLflow tags is read back through its schema: a corrupt, foreign
or newer tag is one line naming the run (or model) and the tag, exit 2, never a traceback.

Each store is set up with ``MlflowClient`` directly (the tags are what a hand edit, another
tool or a newer mlharness would leave); the command is the real CLI in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.support.mlflow_cli import CliResult, cli_env
from tests.support.paths import MLHARNESS

pytestmark = pytest.mark.functional

GOOD_DEFINITION = {
    "project": "/nowhere/steps",
    "entry_point": "main",
    "space": [["x", "1,3"]],
    "strategy": "grid",
    "trials": 2,
    "seed": 0,
    "metric": None,
    "mode": "max",
    "env_manager": "local",
    "experiment_name": None,
    "version": None,
    "jobs": 1,
    "cluster": None,
    "fail_fast": False,
    "force": False,
    "schema": 1,
}
GOOD_TRIAL = {"index": 0, "params": {"x": "1"}, "status": "FINISHED", "run_id": "abc"}


def _cli(*args: str, uri: str, cwd: Path) -> CliResult:
    done = subprocess.run(
        [MLHARNESS, *args],
        cwd=cwd,
        env=cli_env(uri),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


def _one_line_exit_2(result: CliResult, *needles: str) -> None:
    assert result.returncode == 2, result.output
    assert "Traceback" not in result.output, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def _parent(client: MlflowClient, tags: dict[str, str]) -> str:
    return str(client.create_run("0", tags=tags).info.run_id)


# (definition tag, trial 0 tag or None, the tag named, a word of the problem)
SWEEP_CASES = {
    "definition-not-json": ("{not json", None, "mlharness.sweep.definition", "not JSON"),
    "definition-foreign-key": (
        json.dumps({**GOOD_DEFINITION, "colour": "blue"}),
        None,
        "mlharness.sweep.definition",
        "colour",
    ),
    "definition-newer": (
        json.dumps({**GOOD_DEFINITION, "schema": 2}),
        None,
        "mlharness.sweep.definition",
        "schema",
    ),
    "trial-status": (
        json.dumps(GOOD_DEFINITION),
        json.dumps({**GOOD_TRIAL, "status": "EXPLODED"}),
        "mlharness.sweep.trial.0000",
        "status",
    ),
    "trial-missing-index": (
        json.dumps(GOOD_DEFINITION),
        json.dumps({"params": {"x": "1"}}),
        "mlharness.sweep.trial.0000",
        "index",
    ),
    "trial-wrong-index": (
        json.dumps(GOOD_DEFINITION),
        json.dumps({**GOOD_TRIAL, "index": 1}),
        "mlharness.sweep.trial.0000",
        "index",
    ),
}


def _each(calls: dict[str, list[str]], uri: str, cwd: Path) -> dict[str, CliResult]:
    """Run the commands side by side (each imports mlflow: seconds of CPU apiece)."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(_cli, *args, uri=uri, cwd=cwd) for name, args in calls.items()}
        return {name: future.result() for name, future in futures.items()}


def test_a_corrupt_sweep_tag_is_one_line_naming_run_and_tag(
    tracking_uri: str, tmp_path: Path
) -> None:
    client = MlflowClient(tracking_uri)
    parents: dict[str, str] = {}
    for name, (definition, trial, _, _) in SWEEP_CASES.items():
        tags = {"mlharness.sweep.definition": definition}
        if trial is not None:
            tags["mlharness.sweep.trial.0000"] = trial
        parents[name] = _parent(client, tags)
    calls = {
        name: ["sweep", "--resume", parent, "--tracking-uri", tracking_uri]
        for name, parent in parents.items()
    }
    for name, result in _each(calls, tracking_uri, tmp_path).items():
        _, _, tag, problem = SWEEP_CASES[name]
        _one_line_exit_2(result, parents[name], tag, problem)
