"""The DAG task functions' pure parts: references, tracking URIs, the newest batch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.config.operations import StepRef, param_text, step_refs
from harness.kernel.errors import ConfigError
from harness.schemas.pipeline_config import PipelineConfig
from orchestration.pipelines import tasks
from tests.support.airflow import example


def _config(**changes: object) -> PipelineConfig:
    return PipelineConfig.model_validate(example(**changes))


def test_step_references_parse() -> None:
    assert step_refs("${steps.train.run_id}") == StepRef("train", "run_id")
    assert step_refs("${steps.train.model_uri}") == StepRef("train", "model_uri")
    assert step_refs("${steps.train.artifact:data/test.csv}") == StepRef(
        "train", "artifact", "data/test.csv"
    )
    assert step_refs("${TOKEN}") is None and step_refs(3) is None
    assert [param_text(v) for v in (True, False, 3, 0.25, "x")] == [
        "true",
        "false",
        "3",
        "0.25",
        "x",
    ]


def test_references_resolve_from_upstream_xcom_without_downloading() -> None:
    step = (
        _config()
        .steps[1]
        .model_copy(update={"params": {"model_uri": "${steps.train.model_uri}", "data": "x.csv"}})
    )
    upstream = {"train": {"run_id": "a" * 32, "model_uri": f"runs:/{'a' * 32}/model"}}
    assert tasks.resolve_references(step, upstream, None) == {
        "model_uri": f"runs:/{'a' * 32}/model",
        "data": "x.csv",
    }


def test_tracking_uri_expands_environment_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASS", "s3cret")
    config = _config(tracking_uri="postgresql://mlflow:${PGPASS}@db/mlflow")
    assert tasks.tracking_uri(config) == "postgresql://mlflow:s3cret@db/mlflow"
    monkeypatch.delenv("PGPASS")
    with pytest.raises(ConfigError, match="PGPASS is not set"):
        tasks.tracking_uri(config)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///x.db")
    assert tasks.tracking_uri(_config(tracking_uri=None)) == "sqlite:///x.db"


def test_newest_batch_is_by_modification_time(tmp_path: Path) -> None:
    batches = tmp_path / "data" / "batches"
    batches.mkdir(parents=True)
    config = _config()
    assert tasks.newest_batch(config, str(tmp_path)) is None
    for age, name in enumerate(["c.csv", "a.csv", "b.csv"]):
        (batches / name).write_text("x\n1\n")
        os.utime(batches / name, (1_000_000 + age, 1_000_000 + age))
    assert tasks.newest_batch(config, str(tmp_path)) == batches / "b.csv"


def test_the_asset_is_named_for_the_model_alias() -> None:
    assert tasks.asset_uri(_config()) == "mlharness://models/rf/champion"
    assert tasks.project_source(_config(), "/x").endswith("projects/rf")


def test_notify_summarises_a_run_that_was_not_promoted(capsys: pytest.CaptureFixture[str]) -> None:
    pipeline = _config().model_dump(mode="json")
    summary = tasks.notify(
        pipeline,
        {
            "train": {"run_id": "r1"},
            "evaluate": None,
            "register": {"version": "3"},
            "promote": None,
            "gate_failed": {"reason": "accuracy>=0.9 failed"},
        },
    )
    assert summary == {
        "pipeline": "rf",
        "steps": {"train": "r1", "evaluate": None},
        "version": "3",
        "promoted": False,
        "alias": "champion",
        "reason": "accuracy>=0.9 failed",
    }
    assert "pipeline rf:" in capsys.readouterr().out


def test_a_git_project_is_not_replaced_by_the_mounted_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.airflow import render_to, write_config

    data = example(project={"git": "https://example.invalid/repo.git#projects/rf", "version": "v1"})
    output = tmp_path / "out"
    render_to(write_config(tmp_path, data), output)
    compose = (output / "docker-compose.yaml").read_text()
    assert "MLHARNESS_PROJECT:" not in compose and "MLHARNESS_PROJECT_HOST_DIR" not in compose
    monkeypatch.delenv("MLHARNESS_PROJECT", raising=False)
    config = PipelineConfig.model_validate(data)
    assert tasks.project_source(config, str(tmp_path)) == data["project"]["git"]  # type: ignore[index]
