"""Helpers for the orchestration tests: configs from the example, renders, Airflow envs,
migrated Airflow homes and ``airflow`` commands forked from a process that imported Airflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from harness.kernel.migrated import keep_migrated
from orchestration.demo.steps.airflow import migrated_template
from orchestration.pipelines.operations import PipelineFiles, PipelineRequest, write_pipeline
from tests.support.mlflow_cli import CliResult
from tests.support.paths import REPO, VENV_BIN
from tests.support.store_cli_forks import Command, ForkedCli

EXAMPLE = REPO / "examples" / "rf-pipeline.yaml"
RF = REPO / "projects" / "rf"
AIRFLOW = str(VENV_BIN / "airflow")


def example(**changes: Any) -> dict[str, Any]:
    """The example config with the project as an absolute path and ``changes`` applied
    (a dotted key sets a nested value: ``{"promotion.on_fail": "fail"}``)."""
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    data["project"] = {"path": str(RF)}
    for key, value in changes.items():
        *parents, last = key.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return data


def write_config(directory: Path, data: dict[str, Any], name: str = "pipeline.yaml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def render_to(
    config: Path, output: Path, executor: str = "local", dry_run: bool = False
) -> PipelineFiles:
    return write_pipeline(PipelineRequest(config, output, executor, dry_run))  # type: ignore[arg-type]


def airflow_env(home: Path, dags: Path, **extra: str) -> dict[str, str]:
    """The environment of an embedded Airflow (SQLite home ``home``, DAGs from ``dags``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTEST_"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT="120",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    env.update(extra)
    return env


_PARSE = r"""
import json, sys
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1])
heavy = sorted(m for m in ("mlflow", "torch", "pandas", "sklearn") if m in sys.modules)
dags = {
    dag_id: {
        "tasks": {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks},
        "timetable": type(dag.timetable).__name__,
        "outlets": {t.task_id: [a.uri for a in t.outlets] for t in dag.tasks if t.outlets},
    }
    for dag_id, dag in bag.dags.items()
}
print(json.dumps({"errors": {str(k): v for k, v in bag.import_errors.items()},
                  "heavy": heavy, "dags": dags}))
"""


def parse_dags(dags: Path, home: Path) -> dict[str, Any]:
    """Fill a DagBag from ``dags`` in a fresh interpreter (examples off): import errors,
    the DAGs' tasks and which heavy modules parsing imported."""
    done = subprocess.run(
        [sys.executable, "-c", _PARSE, str(dags)],
        env=airflow_env(home, dags),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def migrated_home(home: Path) -> Path:
    """``home`` (new or empty) as ``airflow db migrate`` leaves it: a migrated SQLite
    ``airflow.db`` and a ``dags`` folder. The database is a copy of a template kept per
    machine and installed Airflow (the demo's mechanism, ``keep_migrated``, with the
    template under the temp dir, not the user's cache); the first worker to ask migrates."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "dags").mkdir(exist_ok=True)

    def migrate() -> None:
        done = subprocess.run(
            [AIRFLOW, "db", "migrate"],
            env=airflow_env(home, home / "dags"),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    template = Path(tempfile.gettempdir()) / "mlharness-test-stores" / migrated_template().name
    keep_migrated(home / "airflow.db", template, migrate)
    return home


class AirflowCli:
    """``airflow`` commands of one embedded Airflow (one environment: Airflow reads its
    configuration when imported), each a real process forked from a zygote that imported
    Airflow, MLflow and the task functions once and built the in-process Execution API
    (tests/support/airflow_zygote.py); the command itself is Airflow's own CLI ``main``
    with its argv, cwd, environment and exit code, as ``airflow ARGS`` would run it."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = dict(env)
        # The zygote imports tests.support.airflow_zygote, which takes REPO off sys.path again.
        path = os.pathsep.join(p for p in (str(REPO), self.env.get("PYTHONPATH")) if p)
        zygote_env = {**self.env, "PYTHONPATH": path}
        self._forks = ForkedCli(["tests.support.airflow_zygote"], env=zygote_env)

    def run(self, args: Sequence[str], cwd: Path, timeout: float = 900) -> CliResult:
        return self._forks.run(
            Command(
                args,
                cwd,
                full_env=self.env,
                timeout=timeout,
                main="airflow.__main__:main",
                argv0=AIRFLOW,
            )
        )

    def close(self) -> None:
        self._forks.close()

    def __enter__(self) -> AirflowCli:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
