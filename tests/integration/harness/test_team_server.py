"""The team setup: every harness command against ``mlflow server`` on PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from harness.schemas.manifest import digest
from tests.support.git_servers import make_repo
from tests.support.harness_cli import TINY, json_of, mlharness
from tests.support.servers import MlflowServer

pytestmark = pytest.mark.integration


def test_run_cache_show_verify_against_a_postgres_backed_server(
    mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    url = mlflow_server.url
    make_repo(tmp_path / "repo", {"tiny": TINY})
    project = str(tmp_path / "repo" / "tiny")
    (tmp_path / "in.txt").write_text("input")
    marker = uuid.uuid4().hex  # the server is shared: keep this test's cache key unique
    args = [
        "run",
        project,
        "--env-manager",
        "local",
        "-P",
        f"s={marker}",
        "-P",
        "p=in.txt",
        "--experiment-name",
        f"harness-{marker}",
        "--run-name",
        "team-run",
        "--json",
    ]

    first = mlharness(*args, tracking_uri=url, cwd=tmp_path)
    assert first.returncode == 0, first.output + mlflow_server.log_tail()
    run_id = json_of(first)["run_id"]
    client = MlflowClient(url)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["s"] == marker
    assert run.info.run_name == "team-run"
    assert client.get_experiment(run.info.experiment_id).name == f"harness-{marker}"

    again = mlharness(*args, tracking_uri=url, cwd=tmp_path)
    assert json_of(again) == {**json_of(again), "cached": True, "run_id": run_id}

    shown = mlharness("show", run_id, "--json", tracking_uri=url, cwd=tmp_path)
    doc = json_of(shown)
    assert digest(doc) == run.data.tags["mlharness.manifest_digest"]
    assert doc["run_spec"]["experiment_name"] == f"harness-{marker}"
    assert "echo.txt" in doc["outputs"]  # artifacts proxied by the server are digested too

    verified = mlharness("verify", run_id, "--json", tracking_uri=url, cwd=tmp_path)
    report = json_of(verified)
    assert verified.returncode == 0 and report["identical"], verified.output
    assert client.get_run(report["replay_run_id"]).data.tags["mlharness.replay_of"] == run_id
