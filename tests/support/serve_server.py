"""A registered model store and real scoring servers for the ``mlharness serve`` tests.

``make_store`` logs small sklearn random forests (breast-cancer data, like projects/rf)
straight with ``mlflow.sklearn.log_model`` (seconds, no ``mlflow run``), registers them
with aliases, and logs their reference profile the way ``mlharness monitor profile
--model`` does. ``start_ours`` / ``start_mlflow`` run ``mlharness serve`` and ``mlflow
models serve`` on free 127.0.0.1 ports in their own process groups; ``stop`` ends the
whole group.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from orchestration.processes import Started, free_port, stop_group, wait_for_http
from tests.support.paths import MLFLOW, MLHARNESS, REPO, VENV_BIN
from tests.support.stores import fresh_store_uri
from tests.support.watchdog import guard

MODEL = "rf"
FEATURE = "mean_radius"
# The flaky model raises inside predict for rows with this feature above this value.
RAISE_ABOVE = 1000.0


@dataclass
class Store:
    """A sqlite tracking store with model ``rf`` (v1, v2: different forests; v3: broken)."""

    root: Path
    uri: str
    features: Any  # pandas.DataFrame of the 30 features
    expected: dict[str, list[int]] = field(default_factory=dict)  # version -> predictions

    def rows(self, n: int, start: int = 0) -> Any:
        return self.features.iloc[start : start + n]


def _frame() -> tuple[Any, Any]:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    x = bunch.data.copy()
    x.columns = [str(c).replace(" ", "_") for c in x.columns]
    return x, bunch.target.astype("int64")


_FLAKY_CODE = """
import mlflow.pyfunc
import numpy as np
from mlflow.models import set_model


class Flaky(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        if {always}:
            raise RuntimeError("broken model: fails on every input")
        if (model_input["{feature}"] > {limit}).any():
            raise ValueError("{feature} too large for this model")
        return np.zeros(len(model_input), dtype=np.int64)


set_model(Flaky())
"""


def make_store(root: Path | None = None, n_estimators: int = 20) -> Store:
    """v1 (alias champion and live), v2 (another forest), v3 (fails on everything) of
    ``rf``; ``flaky`` v1 raises for large inputs; profiles logged for rf v1 and v2."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.ensemble import RandomForestClassifier

    from monitoring.model_data import resolve_model_data
    from monitoring.profile import build_profile, save_profile

    root = root or Path(tempfile.mkdtemp(prefix="mlharness-serve-store-"))
    uri = fresh_store_uri(root / "mlflow.db")
    saved_env = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow.set_tracking_uri(uri)
    x, y = _frame()
    store = Store(root, uri, x)
    old_cwd = os.getcwd()
    os.chdir(root)
    try:
        client = mlflow.MlflowClient()
        # Not mlflow.set_experiment: it exports MLFLOW_EXPERIMENT_ID into this (xdist worker)
        # process, and every later test's subprocess would inherit an experiment id of this
        # store.
        experiment_id = client.create_experiment("serve-tests")
        example = x.head(5)
        for version, (depth, seed) in enumerate([(None, 0), (1, 7)], start=1):
            model = RandomForestClassifier(
                n_estimators=n_estimators, max_depth=depth, random_state=seed, n_jobs=1
            ).fit(x, y)
            with mlflow.start_run(experiment_id=experiment_id):
                mlflow.log_text(x.assign(target=y).to_csv(index=False), "data/train.csv")
                mlflow.sklearn.log_model(
                    model,
                    name="model",
                    signature=infer_signature(example, model.predict(example)),
                    input_example=example,
                    skops_trusted_types=["sklearn.tree._tree.Tree"],
                    registered_model_name=MODEL,
                    pip_requirements=["mlflow", "scikit-learn", "skops"],
                )
            store.expected[str(version)] = [int(v) for v in model.predict(x)]
        for name, always in ((MODEL, True), ("flaky", False)):
            code = root / f"flaky_{always}.py"
            code.write_text(_FLAKY_CODE.format(always=always, feature=FEATURE, limit=RAISE_ABOVE))
            with mlflow.start_run(experiment_id=experiment_id):
                mlflow.pyfunc.log_model(
                    name="model",
                    python_model=str(code),
                    signature=infer_signature(example, y.head(5).to_numpy()),
                    input_example=example,
                    registered_model_name=name,
                    pip_requirements=["mlflow", "numpy", "pandas"],
                )
        for alias in ("champion", "live"):
            client.set_registered_model_alias(MODEL, alias, "1")
        client.set_registered_model_alias("flaky", "champion", "1")
        for version in ("1", "2"):
            data = resolve_model_data(f"models:/{MODEL}/{version}", None, tracking_uri=uri)
            profile = build_profile(
                data.source, name=data.description, target=data.target, prediction=data.prediction
            )
            data.log_profile(save_profile(profile, root / f"profile-{version}" / "profile.json"))
    finally:
        os.chdir(old_cwd)
        if saved_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = saved_env
        mlflow.set_tracking_uri(None)
    return store


def split_body(frame: Any) -> bytes:
    """A ``dataframe_split`` JSON body for these rows."""
    return json.dumps(
        {"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}
    ).encode()


@dataclass
class Server:
    """A scoring server process (its own process group); ``stop()`` ends the group."""

    url: str
    process: subprocess.Popen[bytes]
    log_file: Path

    def stop(self) -> None:
        stop_group(self.process, 20)

    def log(self, chars: int = 4000) -> str:
        return self.log_file.read_text(errors="replace")[-chars:] if self.log_file.exists() else ""


def _start(
    command: list[str], url: str, workdir: Path, env: dict[str, str], timeout: float
) -> Server:
    workdir.mkdir(parents=True, exist_ok=True)
    log_file = workdir / f"server-{url.rsplit(':', 1)[-1]}.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
            start_new_session=True,
        )
    guard(process.pid)
    server = Server(url, process, log_file)
    try:
        wait_for_http(
            f"{url}/ping", timeout, watch=Started(" ".join(command[:3]), process, log_file)
        )
    except BaseException:
        server.stop()
        raise
    return server


def _env(store_uri: str) -> dict[str, str]:
    env = dict(os.environ)
    env["MLFLOW_TRACKING_URI"] = store_uri
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def start_ours(store: Store, model_uri: str, *args: str, timeout: float = 180.0) -> Server:
    """``mlharness serve MODEL --port P`` on a free port, with extra options ``args``."""
    port = free_port()
    command = [
        MLHARNESS,
        "serve",
        model_uri,
        "--port",
        str(port),
        "--tracking-uri",
        store.uri,
        *args,
    ]
    return _start(
        command, f"http://127.0.0.1:{port}", store.root / "ours", _env(store.uri), timeout
    )


def start_mlflow(store: Store, model_uri: str, timeout: float = 240.0) -> Server:
    """``mlflow models serve -m MODEL --env-manager local`` on a free port."""
    port = free_port()
    command = [
        MLFLOW,
        "models",
        "serve",
        "-m",
        model_uri,
        "--env-manager",
        "local",
        "-p",
        str(port),
        "--host",
        "127.0.0.1",
    ]
    env = _env(store.uri)
    env["PYTHONPATH"] = str(REPO)
    return _start(command, f"http://127.0.0.1:{port}", store.root / "mlflow", env, timeout)


_SHARED: list[Store] = []


def _built_once(shared: Path) -> Store:
    """The store built once in ``shared`` (by the first process to get here, under a file
    lock), as this process's own copy of its sqlite file: alias moves stay this process's,
    and the artifacts (at absolute paths in the store) are shared and only read."""
    shared.mkdir(parents=True, exist_ok=True)
    record = shared / "store.json"
    with (shared / "store.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not record.exists():
                built = make_store(shared / "store")
                record.write_text(json.dumps({"expected": built.expected}))
            expected = json.loads(record.read_text())["expected"]
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    own = Path(tempfile.mkdtemp(prefix="mlharness-serve-store-"))
    shutil.copyfile(shared / "store" / "mlflow.db", own / "mlflow.db")
    return Store(own, f"sqlite:///{own / 'mlflow.db'}", _frame()[0], expected)


def shared_store(shared: Path | None = None) -> Store:
    """One store per test process (functional and integration tests share it). Given
    ``shared``, a directory every xdist worker of the run sees, it is trained and logged
    once per run instead of once per worker (``_built_once``)."""
    if not _SHARED:
        store = make_store() if shared is None else _built_once(shared)
        atexit.register(shutil.rmtree, store.root, ignore_errors=True)
        _SHARED.append(store)
    return _SHARED[0]


def promtool_check(text: str) -> str:
    """``promtool check metrics`` on an exposition; returns its complaints ('' when clean)."""
    done = subprocess.run(
        ["promtool", "check", "metrics"], input=text.encode(), capture_output=True, timeout=60
    )
    return (done.stdout + done.stderr).decode().strip() if done.returncode else ""


def store_for_the_session(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> Iterator[Store]:
    """The shared store for a session fixture (built once per run under xdist); the
    tracking URI is put back afterwards."""
    import mlflow

    saved = os.environ.get("MLFLOW_TRACKING_URI")
    shared = None
    if worker_id != "master":
        shared = tmp_path_factory.getbasetemp().parent / "serve-store-shared"
    yield shared_store(shared)
    if saved is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = saved
    mlflow.set_tracking_uri(None)
