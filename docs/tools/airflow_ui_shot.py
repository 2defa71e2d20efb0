"""Take ``docs/images/airflow-ui.png``: the Airflow UI of a local stack showing a finished
``rf_train`` run, from real output, with headless Chromium (``screenshots.shoot``).

It starts ``mlharness up --detach`` on a copy of examples/rf-pipeline.yaml (manual schedules)
in a throwaway state dir, triggers rf_train through Airflow's REST API, waits for the run to
succeed, photographs its page and brings the stack down. Headless Chromium cannot type a
password, so this one stack runs with ``AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True``
(no login, loopback only, gone when the script ends); its UI logs in at
``/auth/token/login``.

Usage: ``python docs/tools/airflow_ui_shot.py [--out DIR]`` (about five minutes).
"""

from __future__ import annotations

import argparse
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenshots import IMAGES, REPO, shoot

__all__ = ["airflow_ui", "main"]

MLHARNESS = str(Path(sys.executable).parent / "mlharness")


def _call(url: str, method: str = "GET", body: object = None, token: str = "") -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def airflow_ui(out_dir: Path = IMAGES) -> Path:
    """Start a stack, run rf_train to success, photograph its run page, stop the stack."""
    root = Path(tempfile.mkdtemp(prefix="mlharness-airflow-shot-"))
    root.chmod(0o755)  # PostgreSQL's user must reach the state dir
    state = root / "state"
    try:
        example = REPO / "examples" / "rf-pipeline.yaml"
        config = yaml.safe_load(example.read_text())
        config["project"]["path"] = str((example.parent / config["project"]["path"]).resolve())
        config["schedule"] = None
        config["monitoring"]["drift"]["schedule"] = None
        path = root / "rf-pipeline.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        env = {**os.environ, "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True"}
        done = subprocess.run(
            [MLHARNESS, "up", str(path), "--state-dir", str(state), "--detach", "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=1800,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"error: mlharness up exited {done.returncode}: {done.stderr}")
        api = json.loads(done.stdout)["status"]["urls"]["airflow"]
        token = _call(f"{api}/auth/token")["access_token"]
        run = _call(f"{api}/api/v2/dags/rf_train/dagRuns", "POST", {"logical_date": None}, token)
        run_id = run["dag_run_id"]
        quoted = urllib.parse.quote(run_id, safe="")
        deadline = time.monotonic() + 1200
        while run["state"] not in ("success", "failed") and time.monotonic() < deadline:
            time.sleep(3)
            run = _call(f"{api}/api/v2/dags/rf_train/dagRuns/{quoted}", token=token)
        if run["state"] != "success":
            raise SystemExit(f"error: rf_train ended {run['state']}; logs under {state}")
        url = f"{api}/auth/token/login?next=/dags/rf_train"  # the grid shows the finished run
        return shoot(
            url,
            out_dir / "airflow-ui.png",
            width=1400,
            height=900,
            budget_ms=30000,
            timeout_ms=90000,
        )
    finally:
        subprocess.run(
            [MLHARNESS, "down", "--state-dir", str(state)],
            capture_output=True,
            timeout=600,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=IMAGES, help="directory for the PNG")
    args = parser.parse_args(argv)
    print(f"wrote {airflow_ui(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
