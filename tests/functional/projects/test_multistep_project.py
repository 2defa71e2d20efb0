"""projects/multistep under real ``mlflow run`` on a temporary sqlite store.

Every entry point runs; ``main`` must reuse a step exactly when its code, parameters and
input data are unchanged.

Each ``mlflow run`` is its own process running MLflow's console script (``mlflow.cli:cli``)
with the user's arguments, cwd and environment, forked from one process per module that
imported MLflow's CLI once (``tests/support/store_cli_forks.py``) instead of ~2.8 s of
imports per launch; the entry points it starts are cold processes, as MLflow starts them.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from tests.support.mlflow_cli import CliResult, assert_failed_fast
from tests.support.paths import PROJECTS
from tests.support.store_cli_forks import Command, ForkedCli
from tests.support.stores import fresh_store_uri

pytestmark = pytest.mark.functional
MULTISTEP = PROJECTS / "multistep"
STEPS = ("ingest", "featurize", "train", "evaluate")
KEY_TAG = "multistep.step_key"
EVAL_METRICS = {"accuracy", "f1", "roc_auc", "log_loss"}
SMALL = {"max_iter": 100}  # every test's pipeline; params not given take the MLproject defaults
# What `mlflow run` imports before it starts the entry point.
MLFLOW_PRELOAD = (
    "mlflow",
    "mlflow.cli",
    "mlflow.tracking",
    "mlflow.projects",
    "mlflow.projects.backend.local",
    "mlflow.store.tracking.sqlalchemy_store",
)


@pytest.fixture(scope="module")
def mlflow_cli() -> Iterator[ForkedCli]:
    """The zygote the module's ``mlflow run`` commands are forked from."""
    with ForkedCli(MLFLOW_PRELOAD) as zygote:
        assert zygote.import_output == "", zygote.import_output
        yield zygote


def mlflow_run(
    forks: ForkedCli,
    project: Path,
    params: dict[str, object],
    *,
    tracking_uri: str,
    cwd: Path,
    entry_point: str = "main",
    experiment_name: str | None = None,
) -> CliResult:
    """``mlflow run PROJECT -e ENTRY --env-manager local -P k=v ...`` in ``cwd`` (the
    arguments and environment of ``tests.support.mlflow_cli.mlflow_run``), as a fork."""
    args = ["run", str(project), "-e", entry_point, "--env-manager", "local"]
    if experiment_name:
        args += ["--experiment-name", experiment_name]
    for name, value in params.items():
        args += ["-P", f"{name}={value}"]
    command = Command(args, cwd, tracking_uri, timeout=600, main="mlflow.cli:cli", argv0="mlflow")
    return forks.run(command)


def _all_runs(client: MlflowClient, filter_string: str = "") -> list[Run]:
    experiments = [e.experiment_id for e in client.search_experiments()]
    return list(
        client.search_runs(
            experiments, filter_string=filter_string, order_by=["attributes.start_time ASC"]
        )
    )


def _launch(
    forks: ForkedCli,
    tracking_uri: str,
    cwd: Path,
    entry_point: str = "main",
    project: Path = MULTISTEP,
    experiment: str | None = None,
    **params: object,
) -> Run:
    """``mlflow run`` one entry point; returns the run it launched (the newest of that entry)."""
    result = mlflow_run(
        forks,
        project,
        params,
        tracking_uri=tracking_uri,
        cwd=cwd,
        entry_point=entry_point,
        experiment_name=experiment,
    )
    assert result.returncode == 0, result.output[-3000:]
    launched = _all_runs(
        MlflowClient(tracking_uri), f"tags.`mlflow.project.entryPoint` = '{entry_point}'"
    )
    assert launched[-1].info.status == "FINISHED"
    return launched[-1]


def _pipeline(
    forks: ForkedCli, tracking_uri: str, cwd: Path, **kwargs: object
) -> tuple[Run, set[str]]:
    """Run ``main``; returns its run and the steps it reused (checked against the steps it ran)."""
    run = _launch(forks, tracking_uri, cwd, **{**SMALL, **kwargs})  # type: ignore[arg-type]
    tags = run.data.tags
    reused = (
        set() if tags["multistep.reused"] == "none" else set(tags["multistep.reused"].split(","))
    )
    ran = set() if tags["multistep.ran"] == "none" else set(tags["multistep.ran"].split(","))
    assert reused | ran == set(STEPS) and not reused & ran
    children = _all_runs(
        MlflowClient(tracking_uri), f"tags.`mlflow.parentRunId` = '{run.info.run_id}'"
    )
    assert {c.data.tags["multistep.step"] for c in children} == ran
    assert all(c.info.status == "FINISHED" for c in children)
    return run, reused


def _step_runs(client: MlflowClient, pipeline: Run) -> dict[str, Run]:
    return {s: client.get_run(pipeline.data.tags[f"multistep.run_id.{s}"]) for s in STEPS}


@dataclass(frozen=True)
class Chain:
    """The four step entry points launched one by one, then ``main`` over the same work
    (every step reused), in one store shared by the module's pipeline tests."""

    forks: ForkedCli
    tracking_uri: str
    workdir: Path
    steps: dict[str, Run]
    pipeline: Run
    reused: set[str]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory, mlflow_cli: ForkedCli) -> Iterator[Chain]:
    workdir = tmp_path_factory.mktemp("multistep")
    uri = fresh_store_uri(workdir / "mlflow.db")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        for name in ("MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
            patch.delenv(name, raising=False)
        patch.chdir(workdir)
        mlflow.set_tracking_uri(uri)
        try:
            ingest = _launch(mlflow_cli, uri, workdir, "ingest")
            data_uri = f"runs:/{ingest.info.run_id}/data"
            featurize = _launch(
                mlflow_cli, uri, workdir, "featurize", data_uri=data_uri, select_k=10
            )
            features_uri = f"runs:/{featurize.info.run_id}/features"
            train = _launch(mlflow_cli, uri, workdir, "train", features_uri=features_uri, **SMALL)
            model_uri = f"runs:/{train.info.run_id}/model"
            evaluate = _launch(
                mlflow_cli, uri, workdir, "evaluate", model_uri=model_uri, features_uri=features_uri
            )
            steps = {"ingest": ingest, "featurize": featurize, "train": train}
            steps["evaluate"] = evaluate
            # The same work through `main`: every step is found by its key.
            pipeline, reused = _pipeline(mlflow_cli, uri, workdir)
            yield Chain(mlflow_cli, uri, workdir, steps, pipeline, reused)
        finally:
            mlflow.set_tracking_uri(None)


def test_step_entry_points_chain_and_main_reruns_only_changed_steps(chain: Chain) -> None:
    tracking_uri, tmp_path = chain.tracking_uri, chain.workdir
    client = MlflowClient(tracking_uri)
    ingest = chain.steps["ingest"]
    assert ingest.data.params == {"test_size": "0.25", "seed": "42"}
    assert ingest.data.metrics["n_train"] + ingest.data.metrics["n_test"] == 569
    data_uri = f"runs:/{ingest.info.run_id}/data"
    assert {a.path for a in client.list_artifacts(ingest.info.run_id, "data")} == {
        "data/train.csv",
        "data/test.csv",
    }

    featurize = chain.steps["featurize"]
    assert featurize.data.params["data_uri"] == data_uri
    assert featurize.data.metrics["n_features"] == 10
    features_uri = f"runs:/{featurize.info.run_id}/features"
    selected = mlflow.artifacts.load_dict(f"runs:/{featurize.info.run_id}/featurizer/selected.json")
    assert len(selected["selected"]) == 10

    train = chain.steps["train"]
    assert train.data.params["features_uri"] == features_uri
    assert 0.9 < train.data.metrics["train_accuracy"] <= 1.0
    model_uri = f"runs:/{train.info.run_id}/model"
    assert mlflow.models.get_model_info(model_uri).signature is not None
    local = mlflow.artifacts.download_artifacts(model_uri, dst_path=str(tmp_path / "model"))
    example = mlflow.models.Model.load(local).load_input_example(local)
    assert example is not None and list(example.columns) == selected["selected"]
    predictions = mlflow.pyfunc.load_model(model_uri).predict(example)
    assert len(predictions) == len(example) and set(np.unique(predictions)) <= {0, 1}

    evaluate = chain.steps["evaluate"]
    assert evaluate.data.params["model_uri"] == model_uri
    assert set(evaluate.data.metrics) >= EVAL_METRICS
    assert 0.9 < evaluate.data.metrics["accuracy"] <= 1.0
    evaluation = client.list_artifacts(evaluate.info.run_id, "evaluation")
    assert [a.path for a in evaluation] == ["evaluation/predictions.csv"]

    assert all(KEY_TAG in run.data.tags for run in chain.steps.values())
    # The same work through `main`: every step is found by its key, nothing runs again.
    pipeline = chain.pipeline
    assert chain.reused == set(STEPS)
    for step, run in chain.steps.items():
        assert pipeline.data.tags[f"multistep.run_id.{step}"] == run.info.run_id
    assert pipeline.data.metrics == evaluate.data.metrics
    assert pipeline.data.params["select_k"] == "10"

    # A train parameter: data steps reused, the model and its evaluation are new.
    changed, reused = _pipeline(chain.forks, tracking_uri, tmp_path, C=0.1)
    assert reused == {"ingest", "featurize"}
    assert changed.data.metrics == _step_runs(client, changed)["evaluate"].data.metrics

    # An ingest parameter changes the data: every step downstream of it runs again,
    # although featurize's and train's own parameters are the same as before.
    changed, reused = _pipeline(chain.forks, tracking_uri, tmp_path, test_size=0.3)
    assert reused == set()
    assert _step_runs(client, changed)["ingest"].data.metrics["n_test"] == 171


def test_main_is_deterministic_and_reused_by_code_content_not_git(chain: Chain) -> None:
    tracking_uri, tmp_path = chain.tracking_uri, chain.workdir
    client = MlflowClient(tracking_uri)
    # Reuse is per experiment, so a second experiment recomputes every step from scratch;
    # the first computation is the chain's (its steps launched one by one, then main).
    first = chain.pipeline
    second, reused = _pipeline(chain.forks, tracking_uri, tmp_path, experiment="second")
    assert reused == set()
    assert first.data.metrics == second.data.metrics
    runs_first, runs_second = _step_runs(client, first), _step_runs(client, second)
    for step in STEPS:
        a, b = runs_first[step], runs_second[step]
        assert a.info.run_id != b.info.run_id, step
        assert a.data.metrics == b.data.metrics, step
        # Same code, params and input bytes, same key; evaluate's input, a logged model,
        # records its own run id, so a retrained model is new input even with equal weights.
        assert (a.data.tags[KEY_TAG] == b.data.tags[KEY_TAG]) == (step != "evaluate"), step

    # Main again, from a copy of the project outside the repository: same keys, all reused.
    copy = tmp_path / "copy" / "multistep"
    shutil.copytree(MULTISTEP, copy, ignore=shutil.ignore_patterns("__pycache__"))
    again, reused = _pipeline(
        chain.forks, tracking_uri, tmp_path, project=copy, experiment="second"
    )
    assert reused == set(STEPS)
    assert all(
        again.data.tags[f"multistep.run_id.{s}"] == runs_second[s].info.run_id for s in STEPS
    )

    # Any edit of train's code, even a comment, makes train and what follows run again.
    with (copy / "multistep_project" / "train.py").open("a") as source:
        source.write("\n# edited\n")
    _, reused = _pipeline(chain.forks, tracking_uri, tmp_path, project=copy, experiment="second")
    assert reused == {"ingest", "featurize"}


@pytest.mark.parametrize(
    "entry_point,param,needle",
    [
        ("main", "foo=1", "unknown parameter foo; accepted parameters: test_size, seed, select_k"),
        ("main", "select_k=0", "parameter select_k: 0 is out of range; accepted: integers 1..30"),
    ],
)
def test_bad_input_fails_fast_with_one_line_and_no_finished_run(
    entry_point: str,
    param: str,
    needle: str,
    tracking_uri: str,
    tmp_path: Path,
    mlflow_cli: ForkedCli,
) -> None:
    name, value = param.split("=")
    result = mlflow_run(
        mlflow_cli,
        MULTISTEP,
        {name: value},
        entry_point=entry_point,
        tracking_uri=tracking_uri,
        cwd=tmp_path,
    )
    assert_failed_fast(result, needle, tracking_uri)
    assert len(_all_runs(MlflowClient(tracking_uri))) == 1  # no step run was started
