"""Parallel trials never collide on the store: ten 6-trial ``--jobs 2`` sweeps, each on a
fresh sqlite store and a fresh experiment, of a project whose trials all log the same
dataset (so each sweep's first two trials log a new dataset at the same moment). No trial
may fail. The sweeps run through the sweep operation in this process, so the forkserver
that imports mlflow for the trial workers starts once, not ten times."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from harness.sweep.operations import SweepRequest, sweep
from tests.support.stores import fresh_store_uri

pytestmark = [pytest.mark.functional, pytest.mark.slow]
PROJECT = Path(__file__).parent / "datasets"
SWEEPS = 10
TRIALS = 6


def test_ten_parallel_sweeps_on_fresh_stores_lose_no_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the runs' artifacts (mlruns/) land here
    failures: dict[int, list[str | None]] = {}
    for number in range(SWEEPS):
        # a new, empty store (a copy of an empty migrated one: MLflow's ~60 migrations are
        # not what this test is about, and cost seconds a store)
        uri = fresh_store_uri(tmp_path / f"store-{number}.db", tmp_path / "mlruns")
        result = sweep(
            SweepRequest(
                project=str(PROJECT),
                params=[("trial", ",".join(str(t) for t in range(TRIALS)))],
                jobs=2,
                env_manager="local",
                experiment_name=f"fresh-{number}",
                tracking_uri=uri,
                metric="score",
                log_dir=str(tmp_path / f"logs-{number}"),
            )
        )
        statuses = [t.status for t in result.trials]
        if statuses != ["FINISHED"] * TRIALS:
            failures[number] = [f"{t.status}: {t.error} ({t.log})" for t in result.trials]
        client = MlflowClient(uri)
        for trial in result.trials:
            assert trial.run_id is not None
            inputs = client.get_run(trial.run_id).inputs.dataset_inputs
            assert [item.dataset.name for item in inputs] == ["shared"], trial
    assert failures == {}
