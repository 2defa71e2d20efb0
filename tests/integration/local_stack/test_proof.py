"""The whole loop, live, on this machine: ``mlharness up --executor celery --celery-workers 2``
on a copy of examples/rf-pipeline.yaml, driven only through HTTP APIs and the CLI.

A first version is trained and registered by hand (``mlharness run`` and ``mlharness
registry register``), so the scoring server starts on it; then rf_train, triggered through
Airflow's REST API, trains on Celery workers (one of them is killed with SIGKILL while it
runs a task: the task is retried), registers, gates and promotes version 2; the scoring
server switches to it under a request stream that sees no failure; the promotion's asset
starts rf_drift, which finds the drifted batch, fails as ``on_drift: fail`` says and pushes
its gauges; Alertmanager delivers DatasetDrift, and EndpointDown once the scoring server is
killed; ``down`` leaves no process and no listening port. Each phase's time goes to the log.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.integration.local_stack.stack_client import (
    REPO,
    Airflow,
    Up,
    cli,
    example_copy,
    http_json,
    http_text,
    listening,
    remove,
    running_up,
    stack_processes,
    start_receiver,
    wait_until,
    workdir,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MODEL, ALIAS = "rf", "champion"


class Phases:
    """Wall time of each phase, printed as it ends (the test log) and kept for the report."""

    def __init__(self) -> None:
        self.began = self.last = time.monotonic()
        self.done: dict[str, float] = {}

    def end(self, name: str) -> None:
        now = time.monotonic()
        self.done[name] = round(now - self.last, 1)
        self.last = now
        print(
            f"[phase] {name}: {self.done[name]:.1f} s (total {now - self.began:.1f} s)", flush=True
        )


class Stream:
    """One small /invocations request after another from a thread; counts failures."""

    def __init__(self, url: str, rows: dict[str, Any]) -> None:
        self.url = url
        self.body = json.dumps({"dataframe_split": rows}).encode()
        self.sent = 0
        self.failed: list[str] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stopped.is_set():
            request = urllib.request.Request(
                self.url, self.body, {"Content-Type": "application/json"}, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
                    self.sent += 1
            except OSError as exc:
                self.failed.append(str(exc))
            self.stopped.wait(0.05)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=60)


def _model_info_versions(scoring: str) -> set[str]:
    versions = set()
    for line in http_text(f"{scoring}/metrics").splitlines():
        if line.startswith("mlharness_model_info{") and line.rstrip().endswith(" 1.0"):
            labels = line[line.index("{") + 1 : line.index("}")]
            for pair in labels.split(","):
                key, _, value = pair.partition("=")
                if key.strip() == "version":
                    versions.add(value.strip('"'))
    return versions


def _alias_version(mlflow: str) -> str:
    query = urllib.parse.urlencode({"name": MODEL, "alias": ALIAS})
    answer = http_json(f"{mlflow}/api/2.0/mlflow/registered-models/alias?{query}")
    return str(answer["model_version"]["version"])


def _first_version(up: Up, mlflow: str) -> tuple[str, Path]:
    """Version 1, by hand: a small forest run through the harness, registered with the
    alias. Returns its run id and its held-out split (the test's traffic and batch)."""
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    done = cli(
        "run",
        str(REPO / "projects" / "rf"),
        "-P",
        "n_estimators=5",
        "-P",
        "max_depth=2",
        "--env-manager",
        "local",
        "--experiment-name",
        "rf-pipeline",
        "--tracking-uri",
        mlflow,
        "--json",
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run_id = json.loads(done.stdout)["run_id"]
    done = cli(
        "registry",
        "register",
        f"runs:/{run_id}/model",
        "--name",
        MODEL,
        "--alias",
        ALIAS,
        "--tracking-uri",
        mlflow,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    test_csv = up.state_dir.parent / "test.csv"
    query = urllib.parse.urlencode({"path": "data/test.csv", "run_uuid": run_id})
    test_csv.write_text(http_text(f"{mlflow}/get-artifact?{query}", timeout=60))
    return run_id, test_csv


def _drifted_batch(test_csv: Path, batches: Path) -> dict[str, Any]:
    """Every feature shifted far from the reference; returns a few rows for the traffic."""
    import pandas as pd

    frame = pd.read_csv(test_csv)
    features = frame.drop(columns=["target"])
    shifted = features + 10 * features.std() + features.abs().max()
    batches.mkdir(parents=True, exist_ok=True)
    shifted.assign(target=frame["target"]).to_csv(batches / "drifted.csv", index=False)
    return dict(features.head(3).to_dict(orient="split", index=False))


def _prometheus_has(prometheus: str, expr: str) -> bool:
    query = urllib.parse.urlencode({"query": expr})
    answer = http_json(f"{prometheus}/api/v1/query?{query}")
    return answer["status"] == "success" and bool(answer["data"]["result"])


def test_the_whole_loop_runs_live_on_one_machine() -> None:
    phases = Phases()
    root = workdir()
    receiver = start_receiver()
    try:
        webhook = root / "webhook_url"
        webhook.write_text(receiver.url + "\n")
        config = example_copy(root, webhook)
        state_dir = root / "state"
        env = dict(os.environ)
        env.pop("MLFLOW_TRACKING_URI", None)
        # A killed worker's task is failed (and retried) once its heartbeat is this old.
        env["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"] = "20"
        env["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL"] = "5"
        with running_up(
            config, state_dir, "--executor", "celery", "--celery-workers", "2", env=env
        ) as up:
            # Version 1 is made while Airflow starts: as soon as MLflow answers.
            up.wait_for("mlflow: healthy in", 300)
            mlflow = up.status()["urls"]["mlflow"]
            phases.end("up: PostgreSQL and MLflow healthy")
            _run_v1, test_csv = _first_version(up, mlflow)
            assert _alias_version(mlflow) == "1"
            phases.end("version 1 by hand (mlharness run, registry register)")
            up.wait_for("stack 'rf': healthy in", 420)
            status = up.wait_healthy(60)
            phases.end("up: every service healthy, scoring on version 1")
            urls = status["urls"]
            names = {s["name"] for s in status["services"]}
            assert {
                "postgres",
                "mlflow",
                "redis",
                "airflow-apiserver",
                "airflow-scheduler",
            } <= names
            assert {"airflow-worker-1", "airflow-worker-2", "prometheus", "alertmanager"} <= names
            assert {"blackbox", "pushgateway", "scoring"} <= names
            for service in status["services"]:
                if service["address"]:
                    assert service["address"].startswith("127.0.0.1:"), service
            assert "Grafana" in status["grafana"]
            again = cli("up", str(config), "--state-dir", str(state_dir), timeout=300)
            assert again.returncode == 2 and "already running" in again.stderr, again.stderr
            password_file = Path(status["admin"]["password_file"])
            assert oct(password_file.stat().st_mode & 0o777) == "0o600"
            password = json.loads(password_file.read_text())[status["admin"]["user"]]
            assert password not in up.log_tail(10**7)  # never printed

            scoring = urls["serving"]
            wait_until(
                "scoring serves version 1", lambda: _model_info_versions(scoring) == {"1"}, 240
            )

            rows = _drifted_batch(test_csv, config.parent / "data" / "batches")
            stream = Stream(f"{scoring}/invocations", rows)
            airflow = Airflow(urls["airflow"], status["admin"]["user"], password)
            run_id = airflow.trigger("rf_train")
            workers = {s["name"]: s["pid"] for s in status["services"] if "worker" in s["name"]}
            killed: list[str] = []

            def kill_the_worker_running_train() -> bool:
                train = airflow.tasks("rf_train", run_id).get("train", {})
                host = train.get("hostname")
                if train.get("state") == "running" and host in workers:
                    os.killpg(workers[host], signal.SIGKILL)
                    killed.append(host)
                    return True
                return False

            wait_until("train runs on a Celery worker", kill_the_worker_running_train, 240, 0.3)
            print(f"[proof] SIGKILL to {killed[0]} while it ran train")

            def finished() -> bool:
                return airflow.run("rf_train", run_id)["state"] in ("success", "failed")

            wait_until("rf_train finishes", finished, 420, 2)
            assert airflow.run("rf_train", run_id)["state"] == "success"
            tasks = airflow.tasks("rf_train", run_id)
            for task_id in ("train", "evaluate", "register", "gate", "promote", "notify"):
                assert tasks[task_id]["state"] == "success", (task_id, tasks[task_id])
                assert tasks[task_id]["hostname"] in workers, tasks[task_id]  # a Celery worker
            assert tasks["train"]["try_number"] == 2  # retries: 1
            assert tasks["train"]["hostname"] != killed[0]
            phases.end("rf_train via REST on Celery, a worker killed, train retried")

            assert _alias_version(mlflow) == "2"
            wait_until(
                "scoring switches to version 2", lambda: _model_info_versions(scoring) == {"2"}, 240
            )
            time.sleep(2)
            stream.stop()
            assert stream.sent > 20 and stream.failed == [], (stream.sent, stream.failed[:5])
            phases.end("alias moved; scoring switched with no failed request")

            def asset_run() -> dict[str, Any] | None:
                for run in airflow.runs("rf_drift"):
                    if run["run_type"] == "asset_triggered":
                        return run
                return None

            wait_until("rf_drift triggered by the asset", lambda: asset_run() is not None, 240)
            wait_until(
                "rf_drift finishes",
                lambda: (asset_run() or {}).get("state") in ("success", "failed"),
                300,
                2,
            )
            drift_run = asset_run()
            assert drift_run is not None
            drift_tasks = airflow.tasks("rf_drift", drift_run["dag_run_id"])
            # on_drift: fail -> the drift_detected task fails loudly, and with it the run.
            assert drift_tasks["check_drift"]["state"] == "success", drift_tasks["check_drift"]
            assert drift_tasks["drift_detected"]["state"] == "failed"
            assert drift_run["state"] == "failed"
            pushed = http_text(f"{urls['pushgateway']}/metrics")
            assert "mlharness_dataset_drift_share" in pushed
            wait_until(
                "Prometheus has the drift gauges and the serving metrics",
                lambda: (
                    _prometheus_has(urls["prometheus"], "mlharness_dataset_drift_share")
                    and _prometheus_has(urls["prometheus"], "mlharness_model_info")
                ),
                120,
            )
            wait_until(
                "DatasetDrift delivered", lambda: receiver.delivered("[FIRING] DatasetDrift"), 180
            )
            phases.end("asset-triggered rf_drift, gauges pushed and scraped, DatasetDrift")

            os.killpg(up.service("scoring")["pid"], signal.SIGKILL)
            wait_until(
                "EndpointDown delivered", lambda: receiver.delivered("[FIRING] EndpointDown"), 180
            )
            phases.end("scoring killed, EndpointDown delivered")

            ports = [
                int(a.rsplit(":", 1)[1]) for a in (s["address"] for s in status["services"]) if a
            ]
            done = cli("down", "--state-dir", str(state_dir), timeout=300)
            assert done.returncode == 0, done.stderr
            up.process.wait(timeout=120)
            assert stack_processes(state_dir) == []
            assert [p for p in ports if listening(p)] == []
            phases.end("down: no process, no port")
        print(f"[phase] total: {time.monotonic() - phases.began:.1f} s {phases.done}")
    finally:
        receiver.stop()
        remove(root)
