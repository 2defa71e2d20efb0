"""Two runs that log the same new dataset at the same instant, on a sqlite store.

Plain ``mlflow.log_input`` loses the race (one run fails with the unique violation on
``datasets``); the projects' ``concurrent_logging.log_input`` does not: both runs log the
dataset, and the store holds it once. The race is made certain by holding the store's
write lock across the barrier that releases the runs (tests/support/dataset_race.py).
"""

from __future__ import annotations

import sqlite3

import pytest

from tests.support.dataset_race import check_race, race

pytestmark = pytest.mark.functional
SQLITE_VIOLATION = (
    "UNIQUE constraint failed: datasets.experiment_id, datasets.name, datasets.digest"
)


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
