"""``airflow dags test`` of DAGs rendered for projects/rf, on an embedded SQLite Airflow and a
temporary tracking store: the train DAG trains, registers and promotes; a gate that cannot
pass leaves the alias where it was and ends the run as the config says; the drift DAG takes
the drift branch on a drifted batch and the other one on an undrifted batch.

Four full DAG runs in all, each a real ``airflow dags test`` process with real ``mlflow run``s;
the processes are forks of one that imported Airflow and MLflow once (tests/support/airflow.py).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mlflow import MlflowClient

from harness.schemas.pipeline_config import PipelineConfig
from tests.support.airflow import AirflowCli, airflow_env, example, render_to, write_config
from tests.support.stores import fresh_store_uri

pytestmark = [pytest.mark.functional, pytest.mark.slow]


@dataclass
class Stack:
    home: Path
    dags: Path
    workdir: Path
    tracking_uri: str
    airflow: AirflowCli

    def dags_test(self, dag_id: str, logical_date: str) -> tuple[str, dict[str, str]]:
        """Run ``airflow dags test``; the run's state and every task's state."""
        done = self.airflow.run(["dags", "test", dag_id, logical_date], self.workdir)
        with sqlite3.connect(self.home / "airflow.db") as db:
            row = db.execute(
                "SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1",
                (dag_id,),
            ).fetchone()
            assert row is not None, done.stdout[-3000:] + done.stderr[-3000:]
            rows = db.execute(
                "SELECT task_id, state, duration FROM task_instance "
                "WHERE dag_id = ? AND run_id = ?",
                (dag_id, row[0]),
            ).fetchall()
        states = {task: state for task, state, _ in rows}
        timings = ", ".join(f"{task} {duration or 0:.1f} s" for task, _, duration in rows)
        sys.stderr.write(f"airflow dags test {dag_id}: {timings}\n")
        expected_rc = 0 if row[1] == "success" else 1
        assert done.returncode == expected_rc, done.stdout[-3000:] + done.stderr[-3000:]
        return str(row[1]), {k: str(v) for k, v in states.items()}

    def xcom_sizes(self, dag_id: str) -> list[int]:
        with sqlite3.connect(self.home / "airflow.db") as db:
            rows = db.execute("SELECT value FROM xcom WHERE dag_id = ?", (dag_id,)).fetchall()
        return [len(json.dumps(value)) for (value,) in rows]


def _pipeline(**changes: object) -> dict[str, object]:
    data = example(**changes)
    data["steps"][0]["params"] = {"n_estimators": 10, "max_depth": 4, "random_state": 42}  # type: ignore[index]
    return data


@pytest.fixture(scope="module")
def trained(airflow_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The example pipeline rendered into a temp dir and its train DAG run once."""
    work = tmp_path_factory.mktemp("pipeline")
    dags = work / "dags"
    dags.mkdir()
    uri = fresh_store_uri(work / "mlflow.db")
    config = write_config(work, _pipeline(**{"monitoring.drift.batches": "batches/*.csv"}))
    render_to(config, work / "stack")
    for dag in (work / "stack" / "dags").iterdir():
        shutil.copy(dag, dags / dag.name)
    with AirflowCli(airflow_env(airflow_home, dags, MLFLOW_TRACKING_URI=uri)) as airflow:
        stack = Stack(airflow_home, dags, work, uri, airflow)
        stack.state = stack.dags_test("rf_train", "2026-03-01")  # type: ignore[attr-defined]
        yield stack


def test_train_dag_runs_every_task_and_promotes(trained: Stack) -> None:
    state, tasks = trained.state  # type: ignore[attr-defined]
    assert state == "success", tasks
    assert tasks == {
        "train": "success",
        "evaluate": "success",
        "register": "success",
        "gate": "success",
        "promote": "success",
        "gate_failed": "skipped",
        "notify": "success",
    }
    client = MlflowClient(trained.tracking_uri)
    champion = client.get_model_version_by_alias("rf", "champion")
    run = client.get_run(champion.run_id)
    assert run.data.tags["mlharness.step"] == "train"
    assert run.data.metrics["accuracy"] >= 0.9
    # The step ran through the harness: its manifest is recorded and digested.
    assert "mlharness.manifest_digest" in run.data.tags, sorted(run.data.tags)
    evaluation = client.search_runs([run.info.experiment_id], "tags.`mlharness.step` = 'evaluate'")
    assert len(evaluation) == 1 and evaluation[0].info.status == "FINISHED"
    # MLflow 3 lineage: ${steps.train.model_uri} is the logged model's URI, models:/m-<id>,
    # and the version is registered from it. (MLflow 3.17's SQL registry does not store a
    # version's model_id column, so read back it is None; the source carries the id.)
    assert champion.source.startswith("models:/m-"), champion.source
    assert client.get_logged_model(champion.source.removeprefix("models:/")).source_run_id == (
        run.info.run_id
    )
    assert evaluation[0].data.params["model_uri"] == champion.source
    # XCom carries run ids, versions and URIs: small documents, never data.
    assert max(trained.xcom_sizes("rf_train")) < 2000


def test_a_gate_that_cannot_pass_leaves_the_alias_and_fails_the_run(
    trained: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _pipeline(
        name="rf_strict",
        steps=[{"name": "train"}],
        **{"promotion.gates": ["accuracy > 1"], "promotion.on_fail": "fail"},
    )
    data["steps"][0]["params"]["n_estimators"] = 12  # type: ignore[index]  # a new version
    config = write_config(trained.workdir / "strict", data)
    render_to(config, trained.workdir / "strict" / "stack")
    for dag in (trained.workdir / "strict" / "stack" / "dags").iterdir():
        shutil.copy(dag, trained.dags / dag.name)
    client = MlflowClient(trained.tracking_uri)
    before = client.get_model_version_by_alias("rf", "champion").version

    state, tasks = trained.dags_test("rf_strict_train", "2026-03-02")
    assert state == "failed", tasks
    assert tasks == {
        "train": "success",
        "register": "success",
        "gate": "success",
        "promote": "skipped",
        "gate_failed": "failed",
        "notify": "upstream_failed",
    }
    versions = client.search_model_versions("name = 'rf'")
    assert len(versions) == 2  # the candidate was registered ...
    assert client.get_model_version_by_alias("rf", "champion").version == before  # ... not promoted

    # on_fail: skip ends the same decision without failing (the gate_failed task's function).
    from airflow.sdk.exceptions import AirflowFailException

    from orchestration.pipelines import tasks

    candidate = max(int(v.version) for v in versions)
    data["promotion"]["on_fail"] = "skip"  # type: ignore[index]
    pipeline = PipelineConfig.model_validate(data).model_dump(mode="json")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained.tracking_uri)
    skipped = tasks.gate_failed(pipeline, {"version": str(candidate)})
    assert skipped["promoted"] == "false" and "accuracy>1" in skipped["reason"]
    data["promotion"]["on_fail"] = "fail"  # type: ignore[index]
    with pytest.raises(AirflowFailException, match="refused"):
        tasks.gate_failed(
            PipelineConfig.model_validate(data).model_dump(mode="json"), {"version": str(candidate)}
        )
    assert client.get_model_version_by_alias("rf", "champion").version == before


def test_drift_dag_branches_on_the_drift_exit_code(trained: Stack, tmp_path: Path) -> None:
    import pandas as pd

    client = MlflowClient(trained.tracking_uri)
    champion = client.get_model_version_by_alias("rf", "champion")
    held_out = client.download_artifacts(champion.run_id, "data/test.csv", str(tmp_path))
    frame = pd.read_csv(held_out)
    batches = trained.workdir / "batches"
    batches.mkdir()
    frame.to_csv(batches / "2026-03-03.csv", index=False)
    shifted = frame.copy()
    for column in shifted.columns.drop("target"):
        shifted[column] = shifted[column] * 3 + shifted[column].std() * 2
    shifted.to_csv(batches / "2026-03-04.csv", index=False)
    os.utime(batches / "2026-03-03.csv", (1_700_000_000, 1_700_000_000))

    state, tasks = trained.dags_test("rf_drift", "2026-03-04")
    assert (state, tasks) == (
        "failed",
        {"check_drift": "success", "drift_detected": "failed", "no_drift": "skipped"},
    )
    # The champion's reference profile was made once and logged beside its version.
    assert client.get_model_version("rf", champion.version).tags.get("mlharness.drift_profile")

    os.utime(batches / "2026-03-04.csv", (1_600_000_000, 1_600_000_000))  # undrifted is newest
    state, tasks = trained.dags_test("rf_drift", "2026-03-05")
    assert (state, tasks) == (
        "success",
        {"check_drift": "success", "drift_detected": "skipped", "no_drift": "success"},
    )
