"""``make demo`` end to end: the demo runs twice in a fresh directory on MLflow's default
sqlite store; every step's result is checked from its ``summary.json``, and no process it
started is left running.

The most expensive test of the suite: two whole demo runs (the second proves the sweep is
answered from the run cache) and a third interrupted by Ctrl-C at the Airflow step.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import REPO, VENV_BIN
from tests.support.processes import group_running

pytestmark = [pytest.mark.functional, pytest.mark.slow]

TIMEOUT_S = 900


@dataclass(frozen=True)
class DemoRun:
    """One ``python -m orchestration.demo``: exit code, output, summary and pids."""

    returncode: int
    output: str
    summary: dict[str, Any]
    pids: list[int]
    out: Path

    def step(self, key: str) -> dict[str, Any]:
        for step in self.summary["steps"]:
            if step["key"] == key:
                return dict(step)
        raise AssertionError(f"no step {key!r} in {self.summary}")


def _env(cwd: Path) -> dict[str, str]:
    env = dict(os.environ)
    # MLflow's own default store: sqlite:///mlflow.db in the working directory.
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID"):
        env.pop(name, None)
    # The demos' own cache (run memo, the migrated Airflow database), new with the directory.
    env["MLHARNESS_CACHE_DIR"] = str(cwd / "mlharness-cache")
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO)
    return env


def _run_demo(cwd: Path, output: str) -> DemoRun:
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.demo", "--output", output],
        cwd=cwd,
        env=_env(cwd),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    out = cwd / output
    summary = json.loads((out / "summary.json").read_text())
    pids = json.loads((out / "pids.json").read_text())["pids"]
    return DemoRun(done.returncode, done.stdout + done.stderr, summary, pids, out)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """One directory for the whole test session: with pytest-xdist the tests of this module
    are spread over the workers, and each would otherwise run both demos itself."""
    if worker_id == "master":  # not distributed
        return tmp_path_factory.mktemp("demo")
    shared = tmp_path_factory.getbasetemp().parent / "demo-shared"
    shared.mkdir(exist_ok=True)
    return shared


def _as_json(run: DemoRun) -> dict[str, Any]:
    return {**asdict(run), "out": str(run.out)}


def _from_json(data: dict[str, Any]) -> DemoRun:
    return DemoRun(**{**data, "out": Path(data["out"])})


@pytest.fixture(scope="module")
def runs(demo_dir: Path) -> Iterator[tuple[DemoRun, DemoRun]]:
    """Both demo runs, made once per session: the first worker to get here runs them under
    a file lock and records them; any other worker waits for the lock and reads them."""
    record = demo_dir / "runs.json"
    with (demo_dir / "runs.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not record.exists():
                # Same directory (store, run cache), separate output folders.
                first = _run_demo(demo_dir, "demo-output")
                second = _run_demo(demo_dir, "demo-output-2")
                record.write_text(json.dumps([_as_json(first), _as_json(second)]))
            first, second = (_from_json(d) for d in json.loads(record.read_text()))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    yield first, second


def test_every_step_succeeds(runs: tuple[DemoRun, DemoRun]) -> None:
    for run in runs:
        statuses = {s["key"]: (s["status"], s["summary"]) for s in run.summary["steps"]}
        assert [s["key"] for s in run.summary["steps"]] == [
            "sweep",
            "promote",
            "airflow",
            "serve",
            "drift",
            "stack",
        ]
        assert all(status == "ok" for status, _ in statuses.values()), (statuses, run.output)
        assert run.returncode == 0, run.output
        assert (run.summary["ok"], run.summary["interrupted"]) == (True, False)
        assert run.summary["tracking_uri"] == f"sqlite:///{run.out.parent / 'mlflow.db'}"


def test_the_summary_has_no_skipped_step(runs: tuple[DemoRun, DemoRun]) -> None:
    """The demo requires its tools: every step runs (a step it cannot run fails it)."""
    for run in runs:
        assert {s["status"] for s in run.summary["steps"]} <= {"ok", "failed"}, run.summary
        assert len(run.summary["steps"]) == 6
        # The printed summary table's result column (the Airflow section may well show a
        # task Airflow skipped: that is the DAG's own branch, not a demo step).
        table = run.output[run.output.index("7. summary") :].split("artifacts:")[0]
        cells = [line.split("│") for line in table.splitlines() if line.startswith("│")]
        results = {row[2].strip() for row in cells if len(row) > 3}
        assert results == {"ok", ""}, table


def test_sweep_runs_a_grid_of_four_trials_then_answers_it_from_the_cache(
    runs: tuple[DemoRun, DemoRun],
) -> None:
    first, second = (run.step("sweep")["details"] for run in runs)
    assert first["trials"] == 4  # the 2 x 2 grid
    assert first["finished"] == first["trials"]
    assert first["failed"] == 0
    assert second["trials"] == first["trials"]
    assert second["cached"] == second["trials"]
    assert second["best_run_id"] == first["best_run_id"]
    assert runs[1].step("sweep")["seconds"] < runs[0].step("sweep")["seconds"]


def test_champion_is_the_best_trials_version(runs: tuple[DemoRun, DemoRun]) -> None:
    for run in runs:
        sweep = run.step("sweep")["details"]
        promote = run.step("promote")["details"]
        assert promote["run_id"] == sweep["best_run_id"]
        assert promote["gates_passed"] is True
        assert promote["champion"] == promote["version"]
    # The second run registers nothing new and finds the champion in place.
    assert runs[1].step("promote")["details"]["created"] is False
    assert (
        runs[1].step("promote")["details"]["version"]
        == runs[0].step("promote")["details"]["version"]
    )


def test_dag_run_of_the_train_dag_succeeds(runs: tuple[DemoRun, DemoRun]) -> None:
    for run in runs:
        airflow = run.step("airflow")["details"]
        assert airflow["dag_id"].endswith("_train")
        assert airflow["state"] == "success"
        assert airflow["tasks"], airflow
        assert set(airflow["tasks"].values()) <= {"success", "skipped"}, airflow["tasks"]
        for dag_file in airflow["dag_files"]:
            assert Path(dag_file).is_file()
    # The second demo's Airflow starts from a copy of the metadata database the first one
    # migrated (their cache is new with the directory: the first one migrates).
    assert runs[0].step("airflow")["details"]["metadata_database"] == "airflow db migrate"
    assert runs[1].step("airflow")["details"]["metadata_database"].startswith("copy of ")


def test_metrics_excerpt_has_traffic_latency_batches_and_drift(
    runs: tuple[DemoRun, DemoRun],
) -> None:
    serve = runs[0].step("serve")["details"]
    names = set(serve["metric_names"])
    for name in (
        "mlharness_http_requests_total",
        "mlharness_http_request_duration_seconds_bucket",
        "mlharness_batch_rows_bucket",
        "mlharness_online_drift_score",
        "mlharness_online_drift_detected",
    ):
        assert name in names, name
    assert serve["requests_ok_server"] >= serve["requests"]
    assert set(serve["statuses"]) <= {"200", "drifted 200"}, serve["statuses"]
    assert serve["latency_s"]["p50"] is not None
    assert serve["batch_rows"] > 0
    # The online gauges: quiet after the burst of test rows, drifting after the drifted batch.
    assert len(serve["drift_scores"]) == len(serve["drift_detected"]) == 30
    assert serve["drifting_after_burst"] < serve["drifting_after_drifted_batch"]
    assert serve["drifting_after_drifted_batch"] >= 1


def test_drift_report_is_html_and_says_drift(runs: tuple[DemoRun, DemoRun]) -> None:
    drift = runs[0].step("drift")
    assert drift["details"]["dataset_drift"] is True
    assert drift["details"]["n_drifted"] >= 1
    html = Path(drift["artifacts"]["HTML report"]).read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "drift" in html.lower()


def test_monitoring_stack_promtool_tests_pass(runs: tuple[DemoRun, DemoRun]) -> None:
    stack = runs[0].step("stack")["details"]
    assert stack["promtool_passed"] is True
    assert stack["test_files"] >= 1


def test_no_process_is_left_running(runs: tuple[DemoRun, DemoRun]) -> None:
    for run in runs:
        assert run.pids, "the demo recorded no process; the serve step starts one"
        assert [pid for pid in run.pids if group_running(pid)] == []


def test_ctrl_c_stops_every_process_and_exits_130(
    demo_dir: Path, runs: tuple[DemoRun, DemoRun]
) -> None:
    """Ctrl-C while `airflow dags test` runs (everything before it is cached by now), with
    step 6's promtool tests running beside it."""
    out = demo_dir / "demo-output-interrupted"
    demo = subprocess.Popen(
        [sys.executable, "-m", "orchestration.demo", "--output", out.name],
        cwd=demo_dir,
        env=_env(demo_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own group: SIGINT to it is what a terminal's Ctrl-C does
    )
    try:
        deadline = time.monotonic() + TIMEOUT_S
        started: dict[str, int] = {}
        while "airflow-dags-test" not in started:
            assert demo.poll() is None, "the demo ended before it reached airflow dags test"
            assert time.monotonic() < deadline
            time.sleep(0.2)
            with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
                processes = json.loads((out / "pids.json").read_text())["processes"]
                started = {p["name"]: p["pid"] for p in processes}
        os.killpg(demo.pid, signal.SIGINT)
        assert demo.wait(timeout=120) == 130
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(demo.pid, signal.SIGKILL)
        demo.wait()
    recorded = json.loads((out / "pids.json").read_text())
    pids = recorded["pids"]
    assert [pid for pid in pids if group_running(pid)] == []
    # Step 6's promtool tests start with step 3 and were stopped with the rest.
    assert any(p["name"].startswith("promtool-") for p in recorded["processes"]), recorded
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["ok"], summary["interrupted"]) == (False, True)
    assert [(s["key"], s["status"]) for s in summary["steps"]] == [
        ("sweep", "ok"),
        ("promote", "ok"),
        ("airflow", "failed"),
    ]
    assert summary["steps"][-1]["summary"] == "interrupted"
