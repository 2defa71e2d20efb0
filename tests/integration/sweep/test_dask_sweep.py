"""A sweep on a real Dask cluster (scheduler + two workers on 127.0.0.1) against an mlflow
server on PostgreSQL; one worker is killed mid-trial and the sweep still records every
trial exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.support.dask_cluster import dask_cluster
from tests.support.mlflow_cli import cli_env
from tests.support.servers import MlflowServer
from tests.support.sweeps import STEPS, sweep_cmd

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_killed_worker_does_not_lose_or_duplicate_a_trial(
    mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    uri = mlflow_server.url
    experiment = f"sweep-dask-{uuid.uuid4().hex[:8]}"
    # Workers slow each step down, so a trial is surely running when its worker dies.
    worker_env = {
        "STEPS_DELAY": "1.5",
        "MLHARNESS_CACHE_DIR": str(tmp_path / "cache"),
        "MLFLOW_TRACKING_URI": uri,
    }
    with dask_cluster(tmp_path / "cluster", workers=2, env=worker_env) as cluster:
        command = sweep_cmd(
            str(STEPS), "-P", "x=1,2,3", "-P", "steps=4", "--cluster", cluster.address,
            "--env-manager", "local", "--experiment-name", experiment, "--metric", "score",
            "--json", tracking_uri=uri,
        )  # fmt: skip
        out_file = tmp_path / "sweep.out"
        with out_file.open("w") as out:
            sweep = subprocess.Popen(
                command,
                cwd=tmp_path,
                env=cli_env(uri),
                stdout=out,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        try:
            client = MlflowClient(uri)
            deadline = time.monotonic() + 300
            running = []
            while time.monotonic() < deadline and not running:
                found = client.get_experiment_by_name(experiment)
                if found is not None:
                    children = client.search_runs(
                        [found.experiment_id], "attributes.status = 'RUNNING'"
                    )
                    running = [
                        r
                        for r in children
                        if "mlflow.parentRunId" in r.data.tags
                        and client.get_metric_history(r.info.run_id, "score")
                    ]
                time.sleep(0.5)
            assert running, f"no trial started\n{cluster.log_tail()}"
            cluster.kill_worker(0)
            _, err = sweep.communicate(timeout=600)
        finally:
            if sweep.poll() is None:
                os.killpg(sweep.pid, 9)
                sweep.wait()
        assert sweep.returncode == 0, err + cluster.log_tail()
        text = out_file.read_text()
        assert text.startswith("{"), text[:2000] + err[-2000:]
        doc = json.loads(text)
    assert [t["status"] for t in doc["trials"]] == ["FINISHED"] * 3, doc["trials"]
    assert [t["value"] for t in doc["trials"]] == [4.0, 8.0, 12.0]
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    children = [
        r
        for r in client.search_runs([experiment_id])
        if r.data.tags.get("mlflow.parentRunId") == doc["parent_run_id"]
    ]
    finished = sorted(
        r.data.tags["mlharness.sweep.trial"] for r in children if r.info.status == "FINISHED"
    )
    assert finished == ["0", "1", "2"], [(r.data.tags, r.info.status) for r in children]
    # The trial whose worker died left a run that is marked KILLED, not left RUNNING.
    assert [r.info.status for r in children].count("KILLED") >= 1
    assert "RUNNING" not in [r.info.status for r in children]
    parent = client.get_run(doc["parent_run_id"])
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["mlharness.sweep.best_run_id"] == doc["trials"][2]["run_id"]
