"""Every model family x task: the generated project runs under ``mlflow run``, logs a model
that loads and predicts on its own input example, and the project's own generated tests
pass (they run both entry points in-process, and check for every combination that
``evaluate`` takes the ``models:/m-<id>`` URI, logs the training run's metric names with the
same values and its data in the ``evaluation`` context). ``mlflow run -e evaluate`` runs
once, for one combination: its MLproject entry point is the same for every family, so one
end-to-end run proves the wiring."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from harness.scaffold.project_template import create_project
from tests.support.mlflow_cli import mlflow_run
from tests.support.templates import COOKIECUTTER_JSON, FAMILIES, TASKS

pytestmark = [pytest.mark.functional, pytest.mark.slow]
METRICS = {
    "classification": {"accuracy", "f1", "roc_auc", "log_loss"},
    "regression": {"rmse", "mae", "r2"},
}
COMBINATIONS = [(family, task) for family in FAMILIES for task in TASKS]
# The one end-to-end evaluate run (the generated tests evaluate every combination).
EVALUATED = {("sklearn-rf", "classification")}


@pytest.mark.parametrize(("family", "task"), COMBINATIONS)
def test_generated_project_runs_logs_a_loadable_model_and_passes_its_tests(
    family: str, task: str, cookiecutter_home: Path, tracking_uri: str, tmp_path: Path
) -> None:
    # A slug per combination: models logged with code_paths import the package by name.
    slug = f"gen_{family.replace('-', '_')}_{task}"
    env_file = "conda" if COMBINATIONS.index((family, task)) % 2 else "python_env"
    created = create_project(
        output_dir=tmp_path / "projects",
        values={
            "project_name": slug,
            "model_family": family,
            "task": task,
            "env_file": env_file,
            "include_tests": "yes",
            "include_airflow_pipeline": "yes",
        },
        no_input=True,
    )
    project = created.project_dir

    trained = mlflow_run(project, tracking_uri=tracking_uri, cwd=tmp_path)
    assert trained.returncode == 0, trained.output
    client = MlflowClient(tracking_uri)
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert run.info.status == "FINISHED"
    declared = COOKIECUTTER_JSON["_parameters"]
    assert run.data.params == {
        p["name"]: str(p["default"]) for p in declared[family] + declared["common"]
    }
    assert METRICS[task] <= set(run.data.metrics)
    if task == "classification":
        assert run.data.metrics["accuracy"] > 0.85
    else:
        assert run.data.metrics["r2"] > 0.2

    model_uri = f"runs:/{run.info.run_id}/model"
    assert mlflow.models.get_model_info(model_uri).signature is not None
    local = mlflow.artifacts.download_artifacts(model_uri, dst_path=str(tmp_path / "model"))
    example = mlflow.models.Model.load(local).load_input_example(local)
    predictions = mlflow.pyfunc.load_model(model_uri).predict(example)
    assert len(predictions) == len(example) == 5

    if (family, task) in EVALUATED:
        _evaluate_reproduces_the_metrics(project, run, tracking_uri, tmp_path)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MLFLOW_"))}
    own_tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert own_tests.returncode == 0, own_tests.stdout[-3000:] + own_tests.stderr[-2000:]
    assert " passed" in own_tests.stdout


def _evaluate_reproduces_the_metrics(
    project: Path, run: mlflow.entities.Run, tracking_uri: str, tmp_path: Path
) -> None:
    client = MlflowClient(tracking_uri)
    # MLflow 3 lineage: the model is handed on by its logged-model URI, models:/m-<id>.
    (logged,) = client.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run.info.run_id}'",
    )
    model_uri = f"models:/{logged.model_id}"
    held_out = client.download_artifacts(run.info.run_id, "data/test.csv", str(tmp_path))
    evaluated = mlflow_run(
        project,
        {"model_uri": model_uri, "data": held_out},
        entry_point="evaluate",
        tracking_uri=tracking_uri,
        cwd=tmp_path,
    )
    assert evaluated.returncode == 0, evaluated.output
    evaluation = next(
        r for r in client.search_runs([run.info.experiment_id]) if r.info.run_id != run.info.run_id
    )
    assert set(evaluation.data.metrics) == set(run.data.metrics)
    contexts = [
        tag.value
        for d in evaluation.inputs.dataset_inputs
        for tag in d.tags
        if tag.key == "mlflow.data.context"
    ]
    assert contexts == ["evaluation"]
    for name, value in run.data.metrics.items():
        assert evaluation.data.metrics[name] == pytest.approx(value, rel=1e-6)
