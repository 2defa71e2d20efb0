"""``log_input`` for runs that start together: ``mlflow.log_input`` that survives the race.

MLflow's SQL store (sqlite, PostgreSQL, MySQL, used directly or behind ``mlflow server``)
logs a dataset by looking it up and then inserting it, and does not handle the unique
violation when another run inserts the same dataset in between. Two trials of a sweep that
log the same new dataset at the same moment both miss it, both insert it, and the loser's
``log_input`` fails with BAD_REQUEST (``UNIQUE constraint failed`` on sqlite, ``duplicate
key value`` on PostgreSQL). The database lets the loser's insert fail only once the winner
has committed, so the same call again finds the dataset and just links it to this run.

The retry keys on MLflow's error code, not on the message: each database words the
violation its own way, and a tracking server hands back only the code and the message. A
request that is bad for another reason fails the same way every time, and that error is
raised. ``log_inputs`` is idempotent (it reuses a logged dataset and an existing link), so
a repeated call never logs twice. This file is the same in every project and template:
copy it as it is.
"""

from __future__ import annotations

import time

import mlflow
from mlflow.data.dataset import Dataset
from mlflow.exceptions import MlflowException

__all__ = ["ATTEMPTS", "RETRIED_ERROR_CODES", "log_input"]

ATTEMPTS = 3
# What the SQL store raises for a constraint violation (every SQLAlchemyError but the
# operational ones) and for a database it finds locked; a server answers with the same.
RETRIED_ERROR_CODES = frozenset({"BAD_REQUEST", "TEMPORARILY_UNAVAILABLE"})
_PAUSE_S = 0.2


def log_input(
    dataset: Dataset,
    context: str | None = None,
    tags: dict[str, str] | None = None,
) -> None:
    """``mlflow.log_input(dataset, context, tags)`` in the active run, safe when another
    run logs the same new dataset at the same moment (see the module docstring)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            mlflow.log_input(dataset, context=context, tags=tags)
            return
        except MlflowException as exc:
            if attempt == ATTEMPTS or exc.error_code not in RETRIED_ERROR_CODES:
                raise
            time.sleep(_PAUSE_S * attempt)
