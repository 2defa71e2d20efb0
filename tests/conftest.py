"""Fixtures shared by every suite."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.scheduling import LongestFirstScheduling, order_items
from tests.support.stores import fresh_store_uri

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

# Git clones and the hit memo go to a private cache per test process, never ~/.cache.
if "MLHARNESS_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="mlharness-test-cache-")
    os.environ["MLHARNESS_CACHE_DIR"] = _cache
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)


@pytest.fixture
def tracking_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh sqlite tracking store for this test, also set for in-process MLflow calls
    (a copy of a migrated empty store: see tests/support/stores.py)."""
    uri = fresh_store_uri(tmp_path / "mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    monkeypatch.chdir(tmp_path)  # artifacts (mlruns/) land in the temp dir too
    import mlflow

    mlflow.set_tracking_uri(uri)
    yield uri
    mlflow.set_tracking_uri(None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest units of work first (tests/support/scheduling.py)."""
    order_items(items)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` (what ``make test`` passes): one module per worker, longest first."""
    if config.getvalue("dist") != "loadgroup":
        return None
    return LongestFirstScheduling(config, log)
