"""Two small rf runs, trained once for the registry functional tests, on a sqlite store.

One run comes from plain ``mlflow run`` and one from ``mlharness run`` (so one version has a
manifest and one has none). Each test registers them under its own model name, so tests
share the runs but never each other's registry state. The runs are trained once per test
session (see ``trained``).

The registry commands are real processes forked from one that imported the CLI and MLflow
once per worker (``tests/support/store_cli_forks.py``): a command costs what it does, not
~4.5 s of imports. ``test_unreachable_store_fails_with_exit_5`` keeps a cold ``mlharness``.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.store.registry import Registry
from registry_tools import aliases, versions
from tests.support.harness_cli import mlharness
from tests.support.mlflow_cli import CliResult, mlflow_run
from tests.support.paths import PROJECTS
from tests.support.store_cli_forks import Command, ForkedCli
from tests.support.stores import fresh_store_uri

RF = PROJECTS / "rf"


@dataclass(frozen=True)
class Trained:
    """The store and the two runs: ``weak`` (depth 2, 3 trees) and ``strong`` (depth 6, 20)."""

    tracking_uri: str
    workdir: Path
    weak: str
    strong: str
    test_csv: Path
    forks: ForkedCli


def registry_cli(
    trained: Trained, *args: str, uri: str | None = None, cwd: Path | None = None
) -> CliResult:
    """``mlharness registry ARGS`` as a real (forked) process: exit codes, stdout, stderr;
    ``MLFLOW_TRACKING_URI`` names ``uri`` (default: the trained store)."""
    command = Command(
        ["registry", *args],
        cwd or trained.workdir,
        tracking_uri=uri or trained.tracking_uri,
        timeout=300,
    )
    return trained.forks.run(command)


def _only_new_run(uri: str, before: set[str]) -> str:
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    ids = {r.info.run_id for r in client.search_runs(["0"])} - before
    assert len(ids) == 1, ids
    return ids.pop()


def _train(workdir: Path) -> dict[str, str]:
    """Train both runs into a store in ``workdir``; returns their ids and the test CSV."""
    from mlflow import MlflowClient

    uri = fresh_store_uri(workdir / "mlflow.db")
    weak = mlflow_run(RF, {"n_estimators": 3, "max_depth": 2}, tracking_uri=uri, cwd=workdir)
    assert weak.returncode == 0, weak.output[-3000:]
    weak_id = _only_new_run(uri, set())
    done = mlharness(
        "run",
        str(RF),
        "-P",
        "n_estimators=20",
        "-P",
        "max_depth=6",
        "--env-manager",
        "local",
        tracking_uri=uri,
        cwd=workdir,
    )
    assert done.returncode == 0, done.output[-3000:]
    strong_id = _only_new_run(uri, {weak_id})
    csv = MlflowClient(uri).download_artifacts(weak_id, "data/test.csv", str(workdir))
    return {"weak": weak_id, "strong": strong_id, "test_csv": csv}


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[Trained]:
    """Train once per session, even across xdist workers; each worker gets its own store.

    (``xdist_group`` cannot keep these tests on one worker: with pytest 9.2, xdist 3.8's
    loadgroup sets ``item._nodeid``, which pytest no longer reads.) The first worker trains
    into a directory shared by the session under a file lock; every worker then copies the
    sqlite file, so registry writes never contend. Artifact locations in the store are
    absolute, so the copies share the trained artifacts (new runs get new directories).
    """
    own = tmp_path_factory.mktemp("registry")
    shared = own if worker_id == "master" else tmp_path_factory.getbasetemp().parent / "rf-runs"
    shared.mkdir(exist_ok=True)
    with (shared / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = shared / "trained.json"
        if not record.exists():
            record.write_text(json.dumps(_train(shared)))
        runs = json.loads(record.read_text())
        if own != shared:
            shutil.copyfile(shared / "mlflow.db", own / "mlflow.db")
    with ForkedCli() as forks:
        assert forks.import_output == ""
        yield Trained(
            f"sqlite:///{own / 'mlflow.db'}",
            own,
            runs["weak"],
            runs["strong"],
            Path(runs["test_csv"]),
            forks,
        )


@pytest.fixture
def model_name() -> str:
    """A fresh registered-model name per test."""
    return f"rf-{uuid.uuid4().hex[:8]}"


def registry_state(uri: str) -> dict[str, object]:
    """Everything a registry command could change: models, aliases, tags, descriptions."""
    from mlflow import MlflowClient

    client = MlflowClient(uri, registry_uri=uri)
    state: dict[str, object] = {}
    for model in client.search_registered_models(max_results=1000):
        versions = client.search_model_versions(f"name='{model.name}'")
        state[model.name] = {
            "aliases": dict(model.aliases),
            "tags": dict(model.tags),
            "description": model.description,
            "versions": {v.version: (dict(v.tags), v.description, v.status) for v in versions},
        }
    return state


def two_versions(trained: Trained, name: str) -> Registry:
    """``name`` v1 (weak, ``champion``) and v2 (strong, ``challenger``)."""
    registry = Registry(trained.tracking_uri)
    versions.register(registry, trained.weak, name)
    versions.register(registry, trained.strong, name)
    aliases.set_alias(registry, name, "champion", "1")
    aliases.set_alias(registry, name, "challenger", "2")
    return registry


@dataclass(frozen=True)
class Regressors:
    """Two scikit-learn regressors logged as runs of the trained store, and their data."""

    weak: str  # a DummyRegressor (predicts the mean)
    strong: str  # a LinearRegression of a linear target
    csv: Path  # features a, b, c and a continuous "target"


@pytest.fixture(scope="session")
def regressors(trained: Trained) -> Regressors:
    """Log the two regressors the way the template's regression projects do (sklearn
    flavor, signature from the predictions), in process: no ``mlflow run`` needed."""
    import mlflow
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.dummy import DummyRegressor
    from sklearn.linear_model import LinearRegression

    from harness.store.mlflow_boundary import fluent_uri

    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.normal(size=(80, 3)), columns=["a", "b", "c"])
    frame["target"] = frame @ np.array([1.5, -2.0, 0.5]) + rng.normal(scale=0.1, size=80)
    csv = trained.workdir / f"regression-{uuid.uuid4().hex[:6]}.csv"
    frame.to_csv(csv, index=False)
    features, target = frame[["a", "b", "c"]], frame["target"]
    run_ids = []
    with fluent_uri(trained.tracking_uri):
        for model in (DummyRegressor(), LinearRegression()):
            model.fit(features, target)
            with mlflow.start_run(experiment_id="0") as run:
                mlflow.sklearn.log_model(
                    model,
                    name="model",
                    signature=infer_signature(features, model.predict(features)),
                    # stated, as the template does: MLflow would otherwise infer them in a
                    # subprocess that loads the model (~20 s a model on a loaded machine)
                    pip_requirements=["mlflow", "scikit-learn"],
                )
            run_ids.append(run.info.run_id)
    return Regressors(run_ids[0], run_ids[1], csv)
