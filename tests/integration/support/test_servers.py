"""The server fixtures themselves: PostgreSQL really backs the mlflow server."""

from __future__ import annotations

import uuid

import mlflow
import psycopg
import pytest

from tests.support.servers import MlflowServer

pytestmark = pytest.mark.integration


def test_mlflow_server_stores_runs_in_postgres(mlflow_server: MlflowServer) -> None:
    client = mlflow.MlflowClient(mlflow_server.url)
    name = f"servers-{uuid.uuid4().hex[:8]}"
    experiment_id = client.create_experiment(name)
    run = client.create_run(experiment_id)
    client.log_metric(run.info.run_id, "m", 1.5)
    client.set_terminated(run.info.run_id)
    assert client.get_run(run.info.run_id).data.metrics == {"m": 1.5}

    # The same run is a row in PostgreSQL: the server is not on a file store.
    backend = mlflow_server.process.args[
        mlflow_server.process.args.index("--backend-store-uri") + 1
    ]
    dsn = backend.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "select value from metrics where run_uuid = %s and key = 'm'", (run.info.run_id,)
        ).fetchone()
    assert row == (1.5,)
