"""Two runs that log the same new dataset at the same instant, on a sqlite store.

Plain ``mlflow.log_input`` loses the race (one run fails with the unique violation on
``datasets``); the projects' ``concurrent_logging.log_input`` does not: both runs log the
dataset, and the store holds it once. The race is made certain by holding the store's
write lock across the barrier that releases the runs (tests/support/dataset_race.py).
"""

from __future__ import annotations

import sqlite3

import pytest
from mlflow.tracking import MlflowClient

from tests.support.dataset_race import Outcome, RaceResult, race

pytestmark = pytest.mark.functional
SQLITE_VIOLATION = (
    "UNIQUE constraint failed: datasets.experiment_id, datasets.name, datasets.digest"
)


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


def test_runs_logging_one_new_dataset_at_once_all_succeed_through_the_helper(
    tracking_uri: str,
) -> None:
    result = race(tracking_uri)
    check_race(result, tracking_uri, SQLITE_VIOLATION)
    helper_dataset = result.arm("helper")[0].dataset
    with sqlite3.connect(tracking_uri.removeprefix("sqlite:///")) as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM datasets WHERE name = ?", (helper_dataset,)
        ).fetchone()
    assert count == 1
