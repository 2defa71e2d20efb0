"""Runs that log the same new dataset at the same instant: the ``log_input`` race, made certain.

Each run is a thread with a run of its own (MLflow keeps the active run per thread; the
store sees one connection per thread, as it sees one per trial process). It starts its
run and then waits at one barrier with the others; the barrier releases them all right before
``log_input``. Once every run has started, the test takes the store's write lock and
holds it across the release (sqlite: a
``BEGIN IMMEDIATE`` transaction; PostgreSQL: ``LOCK TABLE datasets IN EXCLUSIVE MODE``,
which still lets the lookups read), so every run has looked the dataset up, found nothing
and queued its insert before any insert can happen: the collision does not depend on
timing. Half the runs call plain ``mlflow.log_input`` (the control: one of them must lose
the race, or the test proves nothing), the other half the projects' ``log_input`` helper.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.data.pandas_dataset import from_pandas
from mlflow.exceptions import MlflowException

from harness.store.mlflow_boundary import fluent_uri
from tests.support.paths import PROJECTS

__all__ = ["HELPER", "Outcome", "RaceResult", "check_race", "load_helper", "race"]

# The helper every project and the template carry (identical copies, checked by a unit test).
HELPER = PROJECTS / "rf" / "rf_project" / "concurrent_logging.py"
RUNS_PER_ARM = 2
BARRIER_TIMEOUT_S = 120.0
SQLITE_HOLD_S = 3.0  # sqlite cannot show who waits on its lock; MLflow's busy timeout is 20 s
PG_WAIT_S = 120.0


@dataclass(frozen=True)
class Outcome:
    """What one run's ``log_input`` did: no error, or MLflow's error code and message."""

    arm: str
    run_id: str
    dataset: str
    error_code: str | None = None
    message: str = ""


@dataclass(frozen=True)
class RaceResult:
    experiment_id: str
    outcomes: list[Outcome]

    def arm(self, name: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.arm == name]


def load_helper() -> ModuleType:
    """The projects' ``concurrent_logging`` module, loaded from its file."""
    spec = importlib.util.spec_from_file_location("concurrent_logging", HELPER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _log_at_barrier(
    experiment_id: str,
    arm: str,
    dataset_name: str,
    started: threading.Barrier,
    release: threading.Barrier,
) -> Outcome:
    """One run: start it, wait for the others, then log the shared dataset."""
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "target": [0.0, 1.0, 0.0]})
    dataset = from_pandas(frame, name=dataset_name, targets="target")
    log: Callable[..., Any] = load_helper().log_input if arm == "helper" else mlflow.log_input
    with mlflow.start_run(experiment_id=experiment_id) as run:
        started.wait(BARRIER_TIMEOUT_S)
        release.wait(BARRIER_TIMEOUT_S)
        try:
            log(dataset, context="training")
            outcome = Outcome(arm, run.info.run_id, dataset_name)
        except MlflowException as exc:
            outcome = Outcome(arm, run.info.run_id, dataset_name, exc.error_code, str(exc))
    return outcome


@contextlib.contextmanager
def _sqlite_write_lock(tracking_uri: str) -> Iterator[Callable[[], None]]:
    connection = sqlite3.connect(tracking_uri.removeprefix("sqlite:///"), isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield lambda: time.sleep(SQLITE_HOLD_S)
    finally:
        connection.execute("ROLLBACK")
        connection.close()


@contextlib.contextmanager
def _postgres_insert_lock(database_url: str, waiters: int) -> Iterator[Callable[[], None]]:
    import psycopg

    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as connection:
        connection.execute("LOCK TABLE datasets IN EXCLUSIVE MODE")

        def until_all_wait() -> None:
            # Every run's insert queued behind the lock (pg_locks shows them not granted).
            query = (
                "SELECT count(*) FROM pg_locks"
                " WHERE relation = 'datasets'::regclass AND NOT granted"
            )
            deadline = time.monotonic() + PG_WAIT_S
            while time.monotonic() < deadline:
                with psycopg.connect(url, autocommit=True) as probe:
                    row = probe.execute(query).fetchone()
                if row is not None and row[0] >= waiters:
                    return
                time.sleep(0.1)
            raise TimeoutError(f"fewer than {waiters} inserts queued on datasets")

        yield until_all_wait
        connection.rollback()


def race(tracking_uri: str, postgres_url: str | None = None) -> RaceResult:
    """Two control runs and two helper runs, each pair on a new dataset, all released at once.

    ``tracking_uri`` is a sqlite store, or a tracking server whose PostgreSQL database is
    ``postgres_url`` (the lock is taken there). MLflow's global tracking URI is set to it
    for the race and restored afterwards.
    """
    experiment_id = MlflowClient(tracking_uri).create_experiment(f"race-{uuid.uuid4().hex}")
    arms = {
        "control": f"control-{uuid.uuid4().hex[:8]}",
        "helper": f"helper-{uuid.uuid4().hex[:8]}",
    }
    runs = [(arm, name) for arm, name in arms.items() for _ in range(RUNS_PER_ARM)]
    started, release = (threading.Barrier(len(runs) + 1) for _ in range(2))
    # The harness's scoped block, not set_tracking_uri(previous): mlflow.get_tracking_uri()
    # resolves the default (sqlite:///<cwd>/mlflow.db) and setting that back exports it as
    # MLFLOW_TRACKING_URI into this worker for every later subprocess.
    with fluent_uri(tracking_uri), ThreadPoolExecutor(len(runs)) as pool:
        futures = [
            pool.submit(_log_at_barrier, experiment_id, arm, name, started, release)
            for arm, name in runs
        ]
        try:
            started.wait(BARRIER_TIMEOUT_S)
            lock = (
                _postgres_insert_lock(postgres_url, len(runs))
                if postgres_url is not None
                else _sqlite_write_lock(tracking_uri)
            )
            with lock as hold:
                release.wait(BARRIER_TIMEOUT_S)
                hold()
        except BaseException:
            started.abort()
            release.abort()
            raise
        outcomes = [future.result(BARRIER_TIMEOUT_S) for future in futures]
    return RaceResult(experiment_id, outcomes)


def check_race(result: RaceResult, tracking_uri: str, violation: str) -> None:
    """The control arm collided (the race happened) and the helper arm did not fail."""
    control = sorted(result.arm("control"), key=lambda o: o.error_code or "")
    assert [o.error_code for o in control] == [None, "BAD_REQUEST"], control
    assert violation in control[1].message, control[1].message
    helper = result.arm("helper")
    assert [o.error_code for o in helper] == [None, None], helper
    client = MlflowClient(tracking_uri)
    digests = {_logged_digest(client, outcome) for outcome in helper}
    assert len(digests) == 1 and None not in digests, digests


def _logged_digest(client: MlflowClient, outcome: Outcome) -> str | None:
    inputs = client.get_run(outcome.run_id).inputs.dataset_inputs
    found = [item.dataset.digest for item in inputs if item.dataset.name == outcome.dataset]
    return found[0] if len(found) == 1 else None
