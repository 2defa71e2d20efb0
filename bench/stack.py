"""The local stack (``mlharness up``): time from ``up`` to all-healthy, one ``rf_train`` run
under the scheduler with LocalExecutor and with Celery, against ``airflow dags test`` of the
same DAG, and the resident memory of the whole stack.

Each executor gets a fresh stack (fresh PostgreSQL and MLflow), so no step is a run-cache
hit; ``airflow dags test`` runs the same rendered DAG on SQLite with no scheduler, against a
fresh SQLite tracking store. rf_train is triggered through Airflow's REST API as a user
would, and its wall time is the DAG run's own (start to end). Memory is the sum of the RSS
of every process the stack started (they carry MLHARNESS_STACK_DIR in their environment),
sampled once the run is done. One round (a stack takes minutes): the machine's load before
and after is in the JSON.

    python -P bench/stack.py            # JSON to bench/results/stack.json
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

sys.path.append(str(Path(__file__).resolve().parent))
from common import BIN, REPO, Session, run_timed

EXAMPLE = REPO / "examples" / "rf-pipeline.yaml"
MLHARNESS = str(BIN / "mlharness")


def _config(root: Path) -> Path:
    """The example with manual runs only (so only the bench's trigger runs)."""
    config = yaml.safe_load(EXAMPLE.read_text())
    config["project"]["path"] = str((EXAMPLE.parent / config["project"]["path"]).resolve())
    config["schedule"] = None
    config["monitoring"]["drift"]["schedule"] = None
    path = root / "rf-pipeline.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _call(url: str, method: str = "GET", body: object = None, token: str = "") -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _stack_rss(state_dir: Path) -> int:
    import psutil

    marker = f"MLHARNESS_STACK_DIR={state_dir.resolve()}"
    total = 0
    for process in psutil.process_iter():
        try:
            if process.environ().get("MLHARNESS_STACK_DIR") == marker.split("=", 1)[1]:
                total += process.memory_info().rss
        except (psutil.Error, OSError):
            continue
    return total


def _seconds(start: str, end: str) -> float:
    parse = dt.datetime.fromisoformat
    return round(
        (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds(), 2
    )


def _stack_row(executor: str) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="bench-stack-"))
    root.chmod(0o755)
    state = root / "state"
    config = _config(root)
    args = ["up", str(config), "--state-dir", str(state), "--executor", executor, "--detach"]
    try:
        timed = run_timed([MLHARNESS, *args, "--json"], timeout=1800)
        result = json.loads(timed.stdout)
        status = result["status"]
        urls, admin = status["urls"], status["admin"]
        password = json.loads(Path(admin["password_file"]).read_text())[admin["user"]]
        api = urls["airflow"]
        token = _call(
            f"{api}/auth/token", "POST", {"username": admin["user"], "password": password}
        )["access_token"]
        run = _call(f"{api}/api/v2/dags/rf_train/dagRuns", "POST", {"logical_date": None}, token)
        run_url = (
            f"{api}/api/v2/dags/rf_train/dagRuns/{urllib.parse.quote(run['dag_run_id'], safe='')}"
        )
        deadline = time.monotonic() + 1200
        while time.monotonic() < deadline:
            run = _call(run_url, token=token)
            if run["state"] in ("success", "failed"):
                break
            time.sleep(2)
        rss = _stack_rss(state)
        processes = len(
            [s for s in status["services"] if s.get("pid") and s["health"] != "completed"]
        )
        return {
            "executor": executor,
            "up_to_healthy_s": round(timed.wall_s, 2),
            "rf_train_state": run["state"],
            "rf_train_s": _seconds(run["start_date"], run["end_date"])
            if run.get("end_date")
            else None,
            "stack_rss_mib": round(rss / 2**20, 1),
            "services": processes,
        }
    finally:
        subprocess.run(
            [MLHARNESS, "down", "--state-dir", str(state)],
            capture_output=True,
            timeout=600,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


def _dags_test_row() -> dict[str, Any]:
    """``airflow dags test rf_train`` on SQLite, no scheduler, the same rendered DAG."""
    root = Path(tempfile.mkdtemp(prefix="bench-dags-test-"))
    try:
        config = _config(root)
        subprocess.run(
            [MLHARNESS, "airflow", "render", str(config), "-o", str(root / "out")],
            check=True,
            capture_output=True,
            timeout=600,
        )
        env = dict(os.environ)
        env.update(
            {
                "AIRFLOW_HOME": str(root / "airflow-home"),
                "AIRFLOW__CORE__DAGS_FOLDER": str(root / "out" / "dags"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
                "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
                "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            }
        )
        run_timed([str(BIN / "airflow"), "db", "migrate"], env=env, timeout=900)
        timed = run_timed(
            [str(BIN / "airflow"), "dags", "test", "rf_train"], env=env, timeout=1800, check=False
        )
        return {
            "executor": "airflow dags test (SQLite, no scheduler)",
            "rf_train_state": "success" if timed.returncode == 0 else "failed",
            "rf_train_s": round(timed.wall_s, 2),
            "peak_rss_mib": round(timed.peak_rss_bytes / 2**20, 1),
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    session = Session("stack")
    rows = [_stack_row("local"), _stack_row("celery"), _dags_test_row()]
    print(f"{'how':<42} {'up->healthy s':>14} {'rf_train s':>11} {'RSS MiB':>9}")
    for row in rows:
        rss = row.get("stack_rss_mib", row.get("peak_rss_mib"))
        up = row.get("up_to_healthy_s")
        print(
            f"{row['executor']:<42} {up if up is not None else '-':>14} "
            f"{row['rf_train_s']!s:>11} {rss!s:>9}  ({row['rf_train_state']})"
        )
    session.write({"rows": rows})
    return 0 if all(r["rf_train_state"] == "success" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
