"""MLflow 3 lineage, read back through MLflow's own API: the projects hand models on by
``models:/m-<id>`` (``search_logged_models``), every entry point that reads data logs it
(``run.inputs.dataset_inputs``, with its context), and a file given as a ``path`` parameter
is logged with the digest the run's manifest records for it. ``runs:/`` URIs keep working."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from tests.support.harness_cli import json_of, manifest_of, mlharness
from tests.support.mlflow_cli import mlflow_run
from tests.support.paths import PROJECTS

pytestmark = pytest.mark.functional
CONTEXT = "mlflow.data.context"


def _inputs(run: Run) -> dict[str, tuple[str, str, dict[str, str]]]:
    """``{dataset name: (context, digest, input tags)}`` of a run's logged datasets."""
    found = {}
    for item in run.inputs.dataset_inputs:
        tags = {tag.key: tag.value for tag in item.tags}
        found[item.dataset.name] = (tags.get(CONTEXT, ""), item.dataset.digest, tags)
    return found


def test_rf_hands_on_a_logged_model_and_a_path_input_has_the_manifests_digest(
    tracking_uri: str, tmp_path: Path
) -> None:
    client = MlflowClient(tracking_uri)
    trained = mlharness(
        "run", str(PROJECTS / "rf"), "-P", "n_estimators=5", "--env-manager", "local",
        "--json", tracking_uri=tracking_uri, cwd=tmp_path,
    )  # fmt: skip
    train_id = json_of(trained)["run_id"]
    train_run = client.get_run(train_id)
    assert "model_uri=models:/m-" in trained.stderr  # the entry point's own line
    (logged,) = client.search_logged_models(
        experiment_ids=[train_run.info.experiment_id],
        filter_string=f"source_run_id = '{train_id}'",
    )
    assert logged.name == "model"
    inputs = _inputs(train_run)
    assert {name: v[0] for name, v in inputs.items()} == {
        "breast_cancer_train": "training",
        "breast_cancer_test": "testing",
    }
    assert all(digest for _, digest, _ in inputs.values())
    assert train_run.inputs.dataset_inputs[0].dataset.schema  # the columns, as JSON

    csv = Path(client.download_artifacts(train_id, "data/test.csv", str(tmp_path)))
    evaluated = mlharness(
        "run", str(PROJECTS / "rf"), "-e", "evaluate",
        "-P", f"model_uri=models:/{logged.model_id}", "-P", f"data={csv}",
        "--env-manager", "local", "--json", tracking_uri=tracking_uri, cwd=tmp_path,
    )  # fmt: skip
    eval_id = json_of(evaluated)["run_id"]
    evaluation = client.get_run(eval_id)
    manifest = manifest_of(tracking_uri, eval_id, tmp_path / "m")
    recorded = manifest["inputs"]["data"]["digest"]
    ((context, digest, tags),) = _inputs(evaluation).values()
    assert context == "evaluation"
    assert digest == recorded[:36] and tags["mlharness.sha256"] == recorded
    for name in ("accuracy", "roc_auc"):
        assert evaluation.data.metrics[name] == pytest.approx(train_run.data.metrics[name])

    # A user's runs:/ URI still names the same model.
    by_run = mlharness(
        "run", str(PROJECTS / "rf"), "-e", "evaluate",
        "-P", f"model_uri=runs:/{train_id}/model", "-P", f"data={csv}",
        "--env-manager", "local", "--json", tracking_uri=tracking_uri, cwd=tmp_path,
    )  # fmt: skip
    again = client.get_run(json_of(by_run)["run_id"])
    assert again.data.metrics == evaluation.data.metrics


def test_multistep_steps_log_their_inputs_and_evaluate_gets_a_models_uri(
    tracking_uri: str, tmp_path: Path
) -> None:
    done = mlflow_run(
        PROJECTS / "multistep", {"max_iter": 50}, tracking_uri=tracking_uri, cwd=tmp_path
    )
    assert done.returncode == 0, done.output[-3000:]
    client = MlflowClient(tracking_uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    steps = {r.data.tags.get("multistep.step"): r for r in runs if "multistep.step" in r.data.tags}
    assert set(steps) == {"ingest", "featurize", "train", "evaluate"}
    contexts = {step: sorted(v[0] for v in _inputs(run).values()) for step, run in steps.items()}
    assert contexts == {
        "ingest": ["source"],
        "featurize": ["testing", "training"],
        "train": ["training"],
        "evaluate": ["evaluation"],
    }
    model_uri = steps["evaluate"].data.params["model_uri"]
    (logged,) = client.search_logged_models(
        experiment_ids=[steps["train"].info.experiment_id],
        filter_string=f"source_run_id = '{steps['train'].info.run_id}'",
    )
    assert model_uri == f"models:/{logged.model_id}"
    ((_, _, tags),) = _inputs(steps["train"]).values()
    assert tags["mlharness.uri"] == f"runs:/{steps['featurize'].info.run_id}/features/train.csv"
