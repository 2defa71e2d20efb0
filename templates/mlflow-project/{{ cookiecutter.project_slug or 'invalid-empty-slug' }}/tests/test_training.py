"""Both entry points in-process against a throwaway tracking store."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from {{ cookiecutter.project_slug }} import data, evaluate, metrics, params, train


@pytest.fixture(scope="module")
def run_id(tracking_uri: str) -> str:
    return train.main(["--random-state", "3"])


def test_main_logs_params_metrics_data_and_a_loadable_model(run_id: str, tmp_path: Path) -> None:
    run = MlflowClient().get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == params.loggable(params.train_args(["--random-state", "3"]))
    assert set(metrics.NAMES) <= set(run.data.metrics)
    assert {d.dataset.name for d in run.inputs.dataset_inputs} == {
        f"{data.DATASET}_train",
        f"{data.DATASET}_test",
    }

    model_uri = f"runs:/{run_id}/model"
    assert mlflow.models.get_model_info(model_uri).signature is not None
    local = mlflow.artifacts.download_artifacts(model_uri, dst_path=str(tmp_path))
    example = mlflow.models.Model.load(local).load_input_example(local)
    predictions = mlflow.pyfunc.load_model(model_uri).predict(example)
    assert len(predictions) == len(example) == 5


def test_evaluate_reproduces_the_training_metrics(run_id: str, tmp_path: Path) -> None:
    csv = mlflow.artifacts.download_artifacts(
        f"runs:/{run_id}/data/test.csv", dst_path=str(tmp_path)
    )
    scores = evaluate.main(["--model-uri", f"runs:/{run_id}/model", "--data", csv])
    logged = MlflowClient().get_run(run_id).data.metrics
    for name in metrics.NAMES:
        assert scores[name] == pytest.approx(logged[name], rel=1e-6)


def test_evaluate_takes_the_logged_model_uri_and_logs_its_data_as_evaluation(
    run_id: str, tmp_path: Path
) -> None:
    client = MlflowClient()
    trained = client.get_run(run_id)
    # MLflow 3 lineage: the model is handed on by its logged-model URI, models:/m-<id>.
    (logged,) = client.search_logged_models(
        experiment_ids=[trained.info.experiment_id],
        filter_string=f"source_run_id = '{run_id}'",
    )
    csv = client.download_artifacts(run_id, "data/test.csv", str(tmp_path))
    evaluate.main(["--model-uri", f"models:/{logged.model_id}", "--data", csv])
    evaluation = mlflow.last_active_run()
    assert evaluation is not None and evaluation.info.run_id != run_id
    assert set(evaluation.data.metrics) == set(trained.data.metrics)
    for name, value in trained.data.metrics.items():
        assert evaluation.data.metrics[name] == pytest.approx(value, rel=1e-6)
    contexts = [
        tag.value
        for item in evaluation.inputs.dataset_inputs
        for tag in item.tags
        if tag.key == "mlflow.data.context"
    ]
    assert contexts == ["evaluation"]


def test_evaluate_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        evaluate.main(["--model-uri", "runs:/x/model", "--data", str(tmp_path / "none.csv")])
    assert exc.value.code == 2
