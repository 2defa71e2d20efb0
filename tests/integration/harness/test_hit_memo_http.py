"""The memo's REST lookup asks a real ``mlflow server`` what ``cache.find_cached`` asks."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from harness.run import run_memo as hit_memo
from harness.run.run_cache import find_cached
from harness.schemas.manifest import TAG_CACHE_KEY
from tests.support.servers import start_mlflow_server

pytestmark = pytest.mark.integration


def test_rest_lookup_agrees_with_mlflow_search_on_a_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_mlflow_server(f"sqlite:///{tmp_path / 'backend.db'}", tmp_path)
    try:
        client = MlflowClient(server.url)
        experiment = client.create_experiment("memo")

        def finished(status: str = "FINISHED", experiment_id: str = "0") -> str:
            run_id = str(client.create_run(experiment_id).info.run_id)
            client.set_tag(run_id, TAG_CACHE_KEY, "k")
            client.set_terminated(run_id, status)
            return run_id

        older = finished()
        finished("FAILED")
        newer = finished(experiment_id=experiment)
        assert hit_memo.store_answer(server.url, "k") == find_cached(client, "k") == newer
        client.delete_experiment(experiment)
        assert hit_memo.store_answer(server.url, "k") == find_cached(client, "k") == older
        assert hit_memo.store_answer(server.url, "other") is None
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "t")  # auth: left to MLflow's client
        with pytest.raises(LookupError):
            hit_memo.store_answer(server.url, "k")
        monkeypatch.delenv("MLFLOW_TRACKING_TOKEN")
        client.delete_run(older)
        assert hit_memo.store_answer(server.url, "k") is None
    finally:
        server.stop()
