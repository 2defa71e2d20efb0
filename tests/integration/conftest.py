"""Server fixtures: one PostgreSQL-backed mlflow server for the whole run (shared by the
xdist workers), shared by tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.servers import (
    MlflowServer,
    postgres_mlflow_server,
    shared_postgres_mlflow_server,
)


@pytest.fixture(scope="session")
def mlflow_server(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> Iterator[MlflowServer]:
    """A real ``mlflow server`` on a real PostgreSQL, on free 127.0.0.1 ports.

    One per run: it takes 10-20 s to come up, so the xdist workers share it (the first
    starts it, the last stops it; tests/support/servers.py). Tests must isolate themselves
    by experiment/model names (use a uuid), not by a fresh server.
    """
    if worker_id == "master":  # not distributed
        with postgres_mlflow_server(tmp_path_factory.mktemp("mlflow-server")) as (_, server):
            yield server
        return
    shared = tmp_path_factory.getbasetemp().parent / "mlflow-server-shared"
    with shared_postgres_mlflow_server(shared) as server:
        yield server
