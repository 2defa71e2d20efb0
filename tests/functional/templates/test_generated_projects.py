"""Every model family x task: the generated project's own generated tests pass (they run
both entry points in-process, and check for every combination that ``evaluate`` takes the
``models:/m-<id>`` URI, logs the training run's metric names with the same values and its
data in the ``evaluation`` context), and the training run they log has the declared default
parameters, the task's metrics and a model that loads and predicts on its own input example.
Each family also runs under ``mlflow run`` (``main``), for one task each, classification and
regression twice each, ``python_env`` and ``conda`` twice each: the MLproject entry point of
a family is the same text whatever the task (only the package code it runs differs, and that
code is what the project's own tests run for every combination), so one ``mlflow run`` per
family proves its wiring; its run is checked as above. ``mlflow run -e evaluate`` runs once,
for one combination: its MLproject entry point is the same for every family, so one
end-to-end run proves the wiring. A default pyfunc-custom project run by ``mlharness run``
carries its template's name and version into the run manifest.

The eight projects are generated once for the module, each with its own tracking store.
Every ``mlflow run`` and every run of a project's own ``pytest`` is its own process, forked
from one that imported MLflow, pandas, scikit-learn, skops, torch and pytest once
(``tests/support/store_cli_forks.py``, ``tests/support/templates_zygote.py``): the
``mlflow`` console script's ``cli`` with the user's arguments (the entry point it launches
is a fresh ``python -m <slug>.train``, as for a user), and ``pytest.main`` (what the
``pytest`` script runs) in the project directory, which reads the project's own
``pyproject.toml`` as ``python -m pytest`` there does (with ``--basetemp`` under the
module's tmp directory, so the store its tests log to can be read here). Two run at a
time. A project's tests run with no third-party pytest plugin
(``PYTEST_DISABLE_PLUGIN_AUTOLOAD``): they must not need one, and a user's environment has
none of this repository's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from harness.scaffold.project_template import create_project
from tests.support.mlflow_cli import CliResult
from tests.support.paths import REPO, VENV_BIN
from tests.support.store_cli_forks import Command, ForkedCli
from tests.support.stores import fresh_store_uri
from tests.support.templates import (
    COOKIECUTTER_JSON,
    FAMILIES,
    TASKS,
    private_cookiecutter_home,
)

pytestmark = [pytest.mark.functional, pytest.mark.slow]
METRICS = {
    "classification": {"accuracy", "f1", "roc_auc", "log_loss"},
    "regression": {"rmse", "mae", "r2"},
}
COMBINATIONS = [(family, task) for family in FAMILIES for task in TASKS]
# The one end-to-end evaluate run (the generated tests evaluate every combination).
EVALUATED = ("sklearn-rf", "classification")
# One `mlflow run` per family: both tasks twice, and (env_file below) both env files twice.
MLFLOW_RUN = {
    EVALUATED,
    ("sklearn-gbm", "regression"),
    ("torch-mlp", "classification"),
    ("pyfunc-custom", "regression"),
}
# The random_state the project's own tests/test_training.py trains with.
OWN_TESTS_RANDOM_STATE = "3"
ENTRY_POINT_TAG = "mlflow.project.entryPoint"


@dataclass(frozen=True)
class Generated:
    """One combination's project, its tracking store and what its commands did."""

    project: Path
    workdir: Path
    tracking_uri: str
    trained: CliResult | None
    evaluated: CliResult | None
    own_tests: CliResult
    own_tests_tracking_uri: str


def _mlflow_run(
    project: Path, workdir: Path, tracking_uri: str, entry_point: str, **params: str
) -> Command:
    """``mlflow run PROJECT -e ENTRY --env-manager local -P k=v ...`` in ``workdir``."""
    args = ["run", str(project), "-e", entry_point, "--env-manager", "local"]
    for name, value in params.items():
        args += ["-P", f"{name}={value}"]
    return Command(
        args,
        cwd=workdir,
        tracking_uri=tracking_uri,
        timeout=600,
        main="mlflow.cli:cli",
        argv0="mlflow",
    )


def _evaluate_command(project: Path, workdir: Path, tracking_uri: str) -> Command | None:
    """The evaluate run for the trained model of ``project``'s store (by its logged-model
    URI, models:/m-<id>), on the held-out split the training run logged; None when there is
    no single training run to evaluate (its test reports why)."""
    client = MlflowClient(tracking_uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    if len(runs) != 1:
        return None
    (run,) = runs
    logged = client.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run.info.run_id}'",
    )
    if len(logged) != 1:
        return None
    held_out = client.download_artifacts(run.info.run_id, "data/test.csv", str(workdir))
    return _mlflow_run(
        project,
        workdir,
        tracking_uri,
        "evaluate",
        model_uri=f"models:/{logged[0].model_id}",
        data=held_out,
    )


@pytest.fixture(scope="module")
def forks() -> Iterator[ForkedCli]:
    """The module's zygote. It imports tests.support.templates_zygote (what every fork would
    import: MLflow, pandas, scikit-learn, pytest, skops, torch), which takes REPO off sys.path
    again."""
    zygote_env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    zygote_env["PATH"] = f"{VENV_BIN}{os.pathsep}{zygote_env.get('PATH', '')}"
    zygote_env["PYTHONWARNINGS"] = "ignore"
    zygote_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), zygote_env.get("PYTHONPATH")) if p
    )
    with ForkedCli(["tests.support.templates_zygote"], env=zygote_env) as zygote:
        yield zygote


@pytest.fixture(scope="module")
def generated(
    tmp_path_factory: pytest.TempPathFactory, forks: ForkedCli
) -> dict[tuple[str, str], Generated]:
    root = tmp_path_factory.mktemp("generated")
    projects, workdirs, stores = {}, {}, {}
    with private_cookiecutter_home(root / "cookiecutter-home"):
        for family, task in COMBINATIONS:
            # A slug per combination: models logged with code_paths import the package by name.
            slug = f"gen_{family.replace('-', '_')}_{task}"
            created = create_project(
                output_dir=root / "projects",
                values={
                    "project_name": slug,
                    "model_family": family,
                    "task": task,
                    "env_file": "conda" if task == "regression" else "python_env",
                    "include_tests": "yes",
                    "include_airflow_pipeline": "yes",
                },
                no_input=True,
            )
            projects[family, task] = created.project_dir
            workdirs[family, task] = root / "work" / slug
            workdirs[family, task].mkdir(parents=True)
            stores[family, task] = fresh_store_uri(workdirs[family, task] / "mlflow.db")

    own_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MLFLOW_"))}
    own_env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    ran = [c for c in COMBINATIONS if c in MLFLOW_RUN]
    trainings = forks.run_many(
        [_mlflow_run(projects[c], workdirs[c], stores[c], "main") for c in ran], jobs=2
    )
    trained = dict(zip(ran, trainings, strict=True))
    evaluate = None
    if trained[EVALUATED].returncode == 0:
        evaluate = _evaluate_command(projects[EVALUATED], workdirs[EVALUATED], stores[EVALUATED])
    own_tests = [
        Command(
            ["-q", "-p", "no:cacheprovider", "-x", f"--basetemp={workdirs[c] / 'own-tests'}"],
            cwd=projects[c],
            full_env=own_env,
            timeout=600,
            main="pytest:main",
            argv0="pytest",
        )
        for c in COMBINATIONS
    ]
    results = forks.run_many([*own_tests, *([evaluate] if evaluate else [])], jobs=2)
    tested, evaluated = results[: len(COMBINATIONS)], results[len(COMBINATIONS) :]
    return {
        c: Generated(
            project=projects[c],
            workdir=workdirs[c],
            tracking_uri=stores[c],
            trained=trained.get(c),
            evaluated=evaluated[0] if c == EVALUATED and evaluated else None,
            own_tests=result,
            # The tracking_uri fixture of the project's tests/conftest.py: its first mktemp.
            own_tests_tracking_uri=f"sqlite:///{workdirs[c] / 'own-tests/mlflow0/mlflow.db'}",
        )
        for c, result in zip(COMBINATIONS, tested, strict=True)
    }


@pytest.fixture
def reset_tracking_uri() -> Iterator[None]:
    """The test points in-process MLflow calls at its combination's store; put it back."""
    yield
    mlflow.set_tracking_uri(None)


@pytest.mark.parametrize(("family", "task"), COMBINATIONS)
def test_generated_project_runs_logs_a_loadable_model_and_passes_its_tests(
    family: str,
    task: str,
    generated: dict[tuple[str, str], Generated],
    reset_tracking_uri: None,
    tmp_path: Path,
) -> None:
    combination = generated[family, task]
    own_tests = combination.own_tests
    assert own_tests.returncode == 0, own_tests.stdout[-3000:] + own_tests.stderr[-2000:]
    assert " passed" in own_tests.stdout
    # The training run the project's own tests logged (train.main in-process, random_state 3).
    own_client = MlflowClient(combination.own_tests_tracking_uri)
    own_runs = own_client.search_runs(
        [e.experiment_id for e in own_client.search_experiments()],
        filter_string=f"params.random_state = '{OWN_TESTS_RANDOM_STATE}'",
    )
    (own_run,) = own_runs
    # Its model: the project's own test_main_logs_params_metrics_data_and_a_loadable_model
    # (passed, above) checks its signature and loads it and predicts on its input example, as
    # _has_a_loadable_model does.
    _is_a_main_run(own_run, family, task, random_state=OWN_TESTS_RANDOM_STATE)

    if (family, task) not in MLFLOW_RUN:
        assert combination.trained is None
        return
    assert combination.trained is not None
    assert combination.trained.returncode == 0, combination.trained.output
    client = MlflowClient(combination.tracking_uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    # The evaluated combination's store also holds its evaluate run (checked below).
    expected = ["main", "evaluate"] if (family, task) == EVALUATED else ["main"]
    assert sorted(r.data.tags[ENTRY_POINT_TAG] for r in runs) == sorted(expected)
    (run,) = (r for r in runs if r.data.tags[ENTRY_POINT_TAG] == "main")
    _is_a_main_run(run, family, task)
    _has_a_loadable_model(run, combination.tracking_uri, tmp_path)
    if (family, task) == EVALUATED:
        (evaluation,) = (r for r in runs if r.data.tags[ENTRY_POINT_TAG] == "evaluate")
        _evaluate_reproduced_the_metrics(combination, run, evaluation, client)


def _is_a_main_run(
    run: mlflow.entities.Run, family: str, task: str, random_state: str | None = None
) -> None:
    """A finished training run with the declared default parameters (``random_state`` as
    given, when given) and the task's metrics above a trivial baseline."""
    assert run.info.status == "FINISHED"
    declared = COOKIECUTTER_JSON["_parameters"]
    expected_params = {p["name"]: str(p["default"]) for p in declared[family] + declared["common"]}
    if random_state is not None:
        expected_params["random_state"] = random_state
    assert run.data.params == expected_params
    assert METRICS[task] <= set(run.data.metrics)
    if task == "classification":
        assert run.data.metrics["accuracy"] > 0.85
    else:
        assert run.data.metrics["r2"] > 0.2


def _has_a_loadable_model(run: mlflow.entities.Run, tracking_uri: str, scratch: Path) -> None:
    """The run logged a model with a signature that loads and predicts on its input example."""
    mlflow.set_tracking_uri(tracking_uri)
    model_uri = f"runs:/{run.info.run_id}/model"
    assert mlflow.models.get_model_info(model_uri).signature is not None
    local = mlflow.artifacts.download_artifacts(model_uri, dst_path=str(scratch / "model"))
    example = mlflow.models.Model.load(local).load_input_example(local)
    predictions = mlflow.pyfunc.load_model(model_uri).predict(example)
    assert len(predictions) == len(example) == 5


def _evaluate_reproduced_the_metrics(
    combination: Generated,
    run: mlflow.entities.Run,
    evaluation: mlflow.entities.Run,
    client: MlflowClient,
) -> None:
    assert combination.evaluated is not None
    assert combination.evaluated.returncode == 0, combination.evaluated.output
    # MLflow 3 lineage: the model is handed on by its logged-model URI, models:/m-<id>.
    (logged,) = client.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run.info.run_id}'",
    )
    assert evaluation.info.status == "FINISHED"
    assert evaluation.data.params["model_uri"] == f"models:/{logged.model_id}"
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


@dataclass(frozen=True)
class Recorded:
    """A generated project run by ``mlharness run``: its store and what the command did."""

    workdir: Path
    tracking_uri: str
    result: CliResult


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory, forks: ForkedCli) -> Recorded:
    """``mlharness run PROJECT --env-manager local --tracking-uri URI`` on a default
    pyfunc-custom project, as a user runs it: its own process (a fork of the module's zygote
    running the console script's ``harness.app.main``), which runs the project's ``main``
    entry point as a fresh ``python -m recorded.train`` through MLflow."""
    root = tmp_path_factory.mktemp("recorded")
    with private_cookiecutter_home(root / "cookiecutter-home"):
        created = create_project(
            output_dir=root / "projects",
            values={"project_name": "Recorded", "model_family": "pyfunc-custom"},
            no_input=True,
        )
    workdir = root / "work"
    workdir.mkdir()
    uri = fresh_store_uri(workdir / "mlflow.db")
    args = ["run", str(created.project_dir), "--env-manager", "local", "--tracking-uri", uri]
    result = forks.run(Command(args, cwd=workdir, tracking_uri=uri, timeout=600))
    return Recorded(workdir=workdir, tracking_uri=uri, result=result)


def test_mlharness_run_records_the_template_name_and_version(recorded: Recorded) -> None:
    """A generated project run by ``mlharness run`` carries its template into the run
    manifest."""
    assert recorded.result.returncode == 0, recorded.result.output
    client = MlflowClient(recorded.tracking_uri)
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    local = client.download_artifacts(
        run.info.run_id, "mlharness/manifest.json", str(recorded.workdir)
    )
    manifest = json.loads(Path(local).read_text())
    assert manifest["source"]["template"] == {
        "name": "mlflow-project",
        "version": COOKIECUTTER_JSON["_template_version"],
    }
