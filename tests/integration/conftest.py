"""Server fixtures: one PostgreSQL-backed mlflow server per xdist worker, shared by tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.servers import MlflowServer, postgres_mlflow_server


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A real ``mlflow server`` on a real PostgreSQL, on free 127.0.0.1 ports.

    Session-scoped (per xdist worker) because it takes 10-15 s to come up. Tests must
    isolate themselves by experiment/model names (use a uuid), not by a fresh server.
    """
    with postgres_mlflow_server(tmp_path_factory.mktemp("mlflow-server")) as (_, server):
        yield server
