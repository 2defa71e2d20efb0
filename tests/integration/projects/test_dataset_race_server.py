"""Two runs that log the same new dataset at the same instant, through a tracking server
backed by PostgreSQL: the unique violation comes back over REST as BAD_REQUEST with
PostgreSQL's wording, and the projects' ``log_input`` helper survives it just the same."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.dataset_race import check_race, race
from tests.support.servers import MlflowServer

pytestmark = pytest.mark.integration
POSTGRES_VIOLATION = 'duplicate key value violates unique constraint "dataset_pk"'


def test_runs_logging_one_new_dataset_at_once_all_succeed_through_a_postgres_server(
    mlflow_server: MlflowServer,
) -> None:
    args = mlflow_server.process.args
    assert isinstance(args, list)
    backend = str(args[args.index("--backend-store-uri") + 1])
    result = race(mlflow_server.url, postgres_url=backend)
    check_race(result, mlflow_server.url, POSTGRES_VIOLATION)
    helper_dataset = result.arm("helper")[0].dataset
    url = backend.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT count(*) FROM datasets WHERE name = %s", (helper_dataset,)
        ).fetchone()
    assert row == (1,)


def test_runs_logging_one_new_dataset_at_once_all_succeed_on_postgres_directly(
    mlflow_server: MlflowServer,
) -> None:
    # The same database without the server: MLflow's SQL store, psycopg's UniqueViolation.
    args = mlflow_server.process.args
    assert isinstance(args, list)
    backend = str(args[args.index("--backend-store-uri") + 1])
    result = race(backend, postgres_url=backend)
    check_race(result, backend, POSTGRES_VIOLATION)
