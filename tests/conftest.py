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


# Variables that every later subprocess of this xdist worker would inherit: a module that
# leaves one behind (mlflow.set_experiment exports MLFLOW_EXPERIMENT_ID) breaks the tests
# that happen to run after it on the same worker, far from the cause.
_INHERITED = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_RUN_ID",
)


@pytest.fixture(scope="module", autouse=True)
def _module_leaves_mlflow_variables_alone(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the module that changes an inherited MLflow variable (and put it back), so the
    error names the culprit instead of a later module on the same worker."""
    before = {name: os.environ.get(name) for name in _INHERITED}
    yield
    after = {name: os.environ.get(name) for name in _INHERITED}
    changed = {
        name: (before[name], after[name]) for name in _INHERITED if before[name] != after[name]
    }
    for name, (value, _) in changed.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    assert not changed, f"{request.module.__name__} left MLflow variables changed: {changed}"


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
