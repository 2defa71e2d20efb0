"""Fixtures for the project's tests: a throwaway sqlite tracking store per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh sqlite store (and artifact dir) for in-process MLflow calls."""
    import mlflow

    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    artifacts = (folder / "mlruns").as_uri()
    experiment_id = mlflow.create_experiment("tests", artifact_location=artifacts)
    mlflow.set_experiment(experiment_id=experiment_id)
    yield uri
    mlflow.set_tracking_uri(previous)
