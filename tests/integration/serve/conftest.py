"""Real scoring servers on the shared model store: ``mlflow models serve`` (started once)
and ``mlharness serve``, each in its own process group, stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.serve_server import (
    Server,
    Store,
    start_mlflow,
    start_ours,
    store_for_the_session,
)


@pytest.fixture(scope="session")
def serve_store(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[Store]:
    yield from store_for_the_session(tmp_path_factory, worker_id)


@pytest.fixture(scope="session")
def mlflow_scoring(serve_store: Store) -> Iterator[Server]:
    """``mlflow models serve -m models:/rf@champion --env-manager local`` (once)."""
    server = start_mlflow(serve_store, "models:/rf@champion")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def ours(serve_store: Store) -> Iterator[Server]:
    """``mlharness serve models:/rf@champion`` with a small request limit."""
    server = start_ours(
        serve_store, "models:/rf@champion", "--max-request-bytes", "100000", "--drift-interval", "1"
    )
    try:
        yield server
    finally:
        server.stop()
