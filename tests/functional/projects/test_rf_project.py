"""projects/rf under real ``mlflow run`` on a temporary sqlite store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tests.support.mlflow_cli import assert_failed_fast, mlflow_run
from tests.support.paths import PROJECTS
from tests.support.stores import fresh_store_uri

pytestmark = pytest.mark.functional
RF = PROJECTS / "rf"
METRICS = {"accuracy", "f1", "roc_auc", "log_loss"}


# Values typed the way people type them: `mlflow run` logs them as given, and the project
# must not log its parsed form (0.25, "none") again as a conflicting change.
TYPED = {"n_estimators": 15, "max_depth": "None", "test_size": ".25", "random_state": 3}


def _only_run(client: MlflowClient, status: str | None = None) -> mlflow.entities.Run:
    runs = client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        filter_string=f"attributes.status = '{status}'" if status else "",
    )
    assert len(runs) == 1, [r.info.status for r in runs]
    return runs[0]


@dataclass(frozen=True)
class Trained:
    """One ``main`` run with the typed parameters, the only run of a store the module's
    tests share (the evaluate and determinism tests add their runs to it)."""

    tracking_uri: str
    workdir: Path
    run: mlflow.entities.Run


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    workdir = tmp_path_factory.mktemp("rf")
    uri = fresh_store_uri(workdir / "mlflow.db")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        patch.chdir(workdir)
        mlflow.set_tracking_uri(uri)
        try:
            result = mlflow_run(RF, TYPED, tracking_uri=uri, cwd=workdir)
            assert result.returncode == 0, result.output
            yield Trained(uri, workdir, _only_run(MlflowClient(uri)))
        finally:
            mlflow.set_tracking_uri(None)


def test_main_logs_params_metrics_artifacts_and_a_loadable_model(trained: Trained) -> None:
    client = MlflowClient(trained.tracking_uri)
    run = client.get_run(trained.run.info.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["n_estimators"] == "15"
    assert run.data.params["max_depth"] == "None"
    assert set(run.data.metrics) >= METRICS
    assert 0.85 < run.data.metrics["accuracy"] <= 1.0

    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert artifacts == {"plots/confusion_matrix.png", "plots/feature_importance.png"}
    assert [d.dataset.name for d in run.inputs.dataset_inputs] == [
        "breast_cancer_train",
        "breast_cancer_test",
    ]

    model_uri = f"runs:/{run.info.run_id}/model"
    info = mlflow.models.get_model_info(model_uri)
    assert info.signature is not None
    local = mlflow.artifacts.download_artifacts(model_uri, dst_path=str(trained.workdir / "model"))
    example = mlflow.models.Model.load(local).load_input_example(local)
    assert example is not None
    predictions = mlflow.pyfunc.load_model(model_uri).predict(example)
    assert len(predictions) == len(example)
    assert set(pd.Series(predictions).unique()) <= {0, 1}


def test_evaluate_scores_a_logged_model_on_a_csv(trained: Trained, tmp_path: Path) -> None:
    client = MlflowClient(trained.tracking_uri)
    train_run = trained.run
    csv = Path(client.download_artifacts(train_run.info.run_id, "data/test.csv", str(tmp_path)))

    model_uri = f"runs:/{train_run.info.run_id}/model"
    result = mlflow_run(
        RF,
        {"model_uri": model_uri, "data": csv},
        entry_point="evaluate",
        tracking_uri=trained.tracking_uri,
        cwd=trained.workdir,
    )
    assert result.returncode == 0, result.output
    (evaluation,) = client.search_runs(
        [train_run.info.experiment_id], filter_string=f"params.model_uri = '{model_uri}'"
    )
    assert evaluation.info.run_id != train_run.info.run_id
    assert evaluation.info.status == "FINISHED"
    # Same model, same rows: the evaluate entry point reproduces the training metrics.
    for name in METRICS:
        assert evaluation.data.metrics[name] == pytest.approx(train_run.data.metrics[name])


def test_same_params_give_identical_metrics(trained: Trained) -> None:
    result = mlflow_run(RF, TYPED, tracking_uri=trained.tracking_uri, cwd=trained.workdir)
    assert result.returncode == 0, result.output
    client = MlflowClient(trained.tracking_uri)
    runs = client.search_runs(
        [trained.run.info.experiment_id],
        filter_string="tags.`mlflow.project.entryPoint` = 'main'",
    )
    assert len(runs) == 2
    assert runs[0].data.metrics == runs[1].data.metrics
    assert runs[0].data.params["test_size"] == runs[1].data.params["test_size"] == ".25"


@pytest.mark.parametrize(
    "param,needle",
    [
        ("foo=1", "unknown parameter foo; accepted parameters: n_estimators"),
        (
            "max_depth=abc",
            "parameter max_depth: 'abc' is not accepted; accepted: an integer >= 1 or 'none'",
        ),
        ("n_estimators=0", "parameter n_estimators: 0 is out of range; accepted: integers >= 1"),
        ("test_size=1.5", "parameter test_size: 1.5 is out of range; accepted: 0 < test_size < 1"),
    ],
)
def test_bad_input_fails_fast_with_one_line_and_no_finished_run(
    param: str, needle: str, tracking_uri: str, tmp_path: Path
) -> None:
    name, value = param.split("=")
    result = mlflow_run(RF, {name: value}, tracking_uri=tracking_uri, cwd=tmp_path)
    # Failed before training: nothing but the launch itself was logged.
    assert_failed_fast(result, needle, tracking_uri)


@pytest.mark.slow
def test_literal_command_with_default_env_manager(tmp_path: Path, tracking_uri: str) -> None:
    """``mlflow run projects/rf -P max_depth=5`` exactly as typed (virtualenv env manager)."""
    # Run from a scratch dir that has `projects/` so run output stays out of the repo.
    (tmp_path / "projects").symlink_to(PROJECTS)
    result = mlflow_run(
        "projects/rf",
        {"max_depth": 5},
        tracking_uri=tracking_uri,
        cwd=tmp_path,
        env_manager=None,
        timeout=900,
    )
    assert result.returncode == 0, result.output[-3000:]
    run = _only_run(MlflowClient(tracking_uri))
    assert run.info.status == "FINISHED" and run.data.params["max_depth"] == "5"
    assert set(run.data.metrics) >= METRICS
