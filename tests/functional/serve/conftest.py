"""The model store shared by the in-process serving tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.serve_server import Store, shared_store


@pytest.fixture(scope="session")
def serve_store() -> Iterator[Store]:
    """Model ``rf`` v1/v2/v3 and ``flaky`` v1 in a sqlite store (built once per process)."""
    import os

    import mlflow

    saved = os.environ.get("MLFLOW_TRACKING_URI")
    yield shared_store()
    if saved is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = saved
    mlflow.set_tracking_uri(None)
