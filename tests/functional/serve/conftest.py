"""The model store shared by the in-process serving tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.serve_server import Store, store_for_the_session


@pytest.fixture(scope="session")
def serve_store(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[Store]:
    """Model ``rf`` v1/v2/v3 and ``flaky`` v1 in a sqlite store (built once per process)."""
    yield from store_for_the_session(tmp_path_factory, worker_id)
