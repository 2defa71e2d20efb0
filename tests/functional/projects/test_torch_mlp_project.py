"""projects/torch_mlp under real ``mlflow run`` on a temporary sqlite store."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from tests.support.mlflow_cli import assert_failed_fast, mlflow_run
from tests.support.paths import PROJECTS
from tests.support.stores import fresh_store_uri

pytestmark = pytest.mark.functional
TORCH_MLP = PROJECTS / "torch_mlp"
FINAL = {"accuracy", "f1", "roc_auc", "log_loss"}
PER_EPOCH = {"train_loss", "val_loss", "val_accuracy"}
# lr typed as 1e-2: the project must not re-log it as 0.01 (MLflow refuses a changed param).
PARAMS = {"epochs": 3, "hidden_units": 8, "lr": "1e-2", "batch_size": 64, "seed": 5}


def _runs(client: MlflowClient, filter_string: str = "") -> list[Run]:
    experiments = [e.experiment_id for e in client.search_experiments()]
    return list(
        client.search_runs(
            experiments, filter_string=filter_string, order_by=["attributes.start_time ASC"]
        )
    )


def _history(client: MlflowClient, run_id: str, name: str) -> list[tuple[int, float]]:
    return [(m.step, m.value) for m in client.get_metric_history(run_id, name)]


@dataclass(frozen=True)
class Trained:
    """One ``main`` run, the only run of a store the module's tests share (the evaluate
    and determinism checks add their runs to it)."""

    tracking_uri: str
    workdir: Path
    run: Run


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    workdir = tmp_path_factory.mktemp("torch-mlp")
    uri = fresh_store_uri(workdir / "mlflow.db")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        patch.chdir(workdir)
        mlflow.set_tracking_uri(uri)
        try:
            result = mlflow_run(TORCH_MLP, PARAMS, tracking_uri=uri, cwd=workdir)
            assert result.returncode == 0, result.output[-3000:]
            (run,) = _runs(MlflowClient(uri))
            yield Trained(uri, workdir, run)
        finally:
            mlflow.set_tracking_uri(None)


def test_main_and_evaluate_log_params_metrics_and_a_loadable_model(
    trained: Trained, tmp_path: Path
) -> None:
    params, tracking_uri = PARAMS, trained.tracking_uri
    client = MlflowClient(tracking_uri)
    run = trained.run
    run_id = run.info.run_id
    assert run.info.status == "FINISHED"
    assert {k: run.data.params[k] for k in params} == {k: str(v) for k, v in params.items()}
    assert set(run.data.metrics) >= FINAL | PER_EPOCH
    assert 0.85 < run.data.metrics["accuracy"] <= 1.0
    for name in PER_EPOCH:
        assert [step for step, _ in _history(client, run_id, name)] == [1, 2, 3], name
    assert {a.path for a in client.list_artifacts(run_id, "data")} == {"data/test.csv"}
    assert [d.dataset.name for d in run.inputs.dataset_inputs] == [
        "breast_cancer_training",
        "breast_cancer_testing",
    ]

    model_uri = f"runs:/{run_id}/model"
    info = mlflow.models.get_model_info(model_uri)
    assert info.signature is not None and info.flavors.keys() >= {"pytorch", "python_function"}
    local = mlflow.artifacts.download_artifacts(model_uri, dst_path=str(tmp_path / "model"))
    requirements = (Path(local) / "requirements.txt").read_text().split()
    assert "torch==2.13.0" in requirements and "mlflow==3.17.2" in requirements
    example = mlflow.models.Model.load(local).load_input_example(local)
    assert example is not None and example.shape == (5, 30)
    proba = np.asarray(mlflow.pyfunc.load_model(model_uri).predict(example))
    assert proba.shape == (5, 1) and ((proba >= 0) & (proba <= 1)).all()

    # `evaluate` on the logged test split reproduces the training run's test metrics.
    csv = Path(client.download_artifacts(run_id, "data/test.csv", str(tmp_path)))
    result = mlflow_run(
        TORCH_MLP,
        {"model_uri": model_uri, "data": csv},
        entry_point="evaluate",
        tracking_uri=tracking_uri,
        cwd=trained.workdir,
    )
    assert result.returncode == 0, result.output[-3000:]
    (evaluation,) = _runs(client, "tags.`mlflow.project.entryPoint` = 'evaluate'")
    assert evaluation.info.run_id != run_id and evaluation.info.status == "FINISHED"
    assert evaluation.data.params["model_uri"] == model_uri
    (dataset,) = evaluation.inputs.dataset_inputs
    assert {t.key: t.value for t in dataset.tags}["mlflow.data.context"] == "evaluation"
    for name in FINAL:
        assert evaluation.data.metrics[name] == pytest.approx(run.data.metrics[name], abs=1e-6)


def test_same_params_give_identical_metrics(trained: Trained) -> None:
    result = mlflow_run(TORCH_MLP, PARAMS, tracking_uri=trained.tracking_uri, cwd=trained.workdir)
    assert result.returncode == 0, result.output[-3000:]
    client = MlflowClient(trained.tracking_uri)
    first, second = _runs(client, "tags.`mlflow.project.entryPoint` = 'main'")
    assert first.info.run_id == trained.run.info.run_id
    assert first.data.metrics == second.data.metrics
    for name in PER_EPOCH:
        history = _history(client, first.info.run_id, name)
        assert history == _history(client, second.info.run_id, name)


@pytest.mark.parametrize(
    "param,needle",
    [
        ("foo=1", "unknown parameter foo; accepted parameters: hidden_units, epochs, lr, "),
        ("epochs=2.5", "parameter epochs: '2.5' is not accepted; accepted: integers 1..10000"),
    ],
)
def test_bad_input_fails_fast_with_one_line_and_no_finished_run(
    param: str, needle: str, tracking_uri: str, tmp_path: Path
) -> None:
    name, value = param.split("=")
    result = mlflow_run(TORCH_MLP, {name: value}, tracking_uri=tracking_uri, cwd=tmp_path)
    assert_failed_fast(result, needle, tracking_uri)


@pytest.mark.slow
def test_literal_command_with_default_env_manager(tmp_path: Path, tracking_uri: str) -> None:
    """``mlflow run projects/torch_mlp`` with its own virtualenv (pyenv Python 3.11.7)."""
    (tmp_path / "projects").symlink_to(PROJECTS)
    started = time.monotonic()
    result = mlflow_run(
        "projects/torch_mlp",
        {"epochs": 2},
        tracking_uri=tracking_uri,
        cwd=tmp_path,
        env_manager=None,
        timeout=1200,
    )
    print(f"default env manager: {time.monotonic() - started:.0f} s")  # seen with -s
    assert result.returncode == 0, result.output[-3000:]
    (run,) = _runs(MlflowClient(tracking_uri))
    assert run.info.status == "FINISHED" and run.data.params["epochs"] == "2"
    assert set(run.data.metrics) >= FINAL | PER_EPOCH
