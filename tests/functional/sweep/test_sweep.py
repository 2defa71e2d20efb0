"""``mlharness sweep`` end to end on a sqlite store: grid, cache, failures, random search,
bad input, Optuna with pruning, and Ctrl-C then ``--resume``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.support.mlflow_cli import cli_env
from tests.support.store_cli_forks import Command, ForkedCli
from tests.support.sweeps import (
    STEPS,
    children_of,
    mlharness_sweep,
    result_of,
    runs_of,
    summary,
    sweep_cmd,
    sweep_parents,
)

pytestmark = [pytest.mark.functional]
LOCAL = ("--env-manager", "local")
# Commands run as forks of one pre-imported process (the ``forks`` fixture, conftest.py); the
# re-sweep answered by the sweep memo and the Ctrl-C'd sweep stay cold processes.


def test_grid_runs_children_in_parallel_and_a_re_sweep_is_all_cached(
    tracking_uri: str, tmp_path: Path, forks: ForkedCli
) -> None:
    # A plain run first: the sweep's trial with the same run spec is answered by it.
    plain = forks.run(
        Command(
            ["run", str(STEPS), "-P", "x=3", *LOCAL, "--json"],
            tmp_path,
            tracking_uri=tracking_uri,
            timeout=600,
        )
    )
    assert plain.returncode == 0, plain.stderr
    plain_id = json.loads(plain.stdout)["run_id"]
    # An inherited MLFLOW_RUN_ID must not capture the trials.
    args = (str(STEPS), "-P", "x=1,3", "-P", "y=a", "--jobs", "2", "--metric", "score", *LOCAL)
    first = mlharness_sweep(
        *args,
        "--json",
        tracking_uri=tracking_uri,
        cwd=tmp_path,
        forks=forks,
        env={"MLFLOW_RUN_ID": plain_id},
    )
    doc = result_of(first)
    assert first.returncode == 0, first.output
    parent = doc["parent_run_id"]
    assert [t["params"] for t in doc["trials"]] == [{"x": "1", "y": "a"}, {"x": "3", "y": "a"}]
    assert [t["status"] for t in doc["trials"]] == ["FINISHED", "FINISHED"]
    assert [t["cached"] for t in doc["trials"]] == [False, True]
    assert doc["trials"][1]["run_id"] == plain_id
    assert [t["value"] for t in doc["trials"]] == [3.0, 9.0]
    children = children_of(tracking_uri, parent)
    assert [c.info.run_id for c in children] == [doc["trials"][0]["run_id"]]
    assert children[0].data.tags["mlharness.sweep.trial"] == "0"
    # The entry point's output went to the trial's log, not to the terminal.
    log = Path(doc["trials"][0]["log"]).read_text()
    assert "steps: x=1.0 y=a" in log and "steps: x=" not in first.output
    client = MlflowClient(tracking_uri)
    tags = client.get_run(parent).data.tags
    assert tags["mlharness.sweep.best_run_id"] == plain_id
    assert float(tags["mlharness.sweep.best_value"]) == 9.0
    assert json.loads(tags["mlharness.sweep.definition"])["space"] == [["x", "1,3"], ["y", "a"]]
    assert client.get_run(parent).info.status == "FINISHED"

    # The same sweep again: answered by the earlier one, every trial cached, no MLflow import.
    again = mlharness_sweep(*args, "--json", tracking_uri=tracking_uri, cwd=tmp_path)
    redo = result_of(again)
    assert again.returncode == 0, again.output
    assert redo["from_memo"] and redo["parent_run_id"] == parent
    assert [t["cached"] for t in redo["trials"]] == [True, True]
    assert [t["run_id"] for t in redo["trials"]] == [t["run_id"] for t in doc["trials"]]
    # In another experiment the workers' run operation answers each trial from the cache:
    # a new parent, every trial cached, no new child run.
    other = mlharness_sweep(
        *args, "--experiment-name", "other", tracking_uri=tracking_uri, cwd=tmp_path, forks=forks
    )
    assert other.returncode == 0, other.output
    assert "2 finished (2 cached)" in other.stdout
    for trial in doc["trials"]:
        assert trial["run_id"] in other.stdout
    parents = sweep_parents(tracking_uri)
    assert len(parents) == 2
    assert all(r.data.tags["mlharness.sweep.best_run_id"] == plain_id for r in parents)
    assert sum(1 for r in runs_of(tracking_uri) if "mlflow.parentRunId" in r.data.tags) == 1


def test_a_failing_trial_does_not_stop_the_others_and_fail_fast_does(
    tracking_uri: str, tmp_path: Path, forks: ForkedCli
) -> None:
    args = (str(STEPS), "-P", "x=2", "-P", "fail=yes,no", "--metric", "score", *LOCAL)
    done = mlharness_sweep(
        *args, "--jobs", "2", tracking_uri=tracking_uri, cwd=tmp_path, forks=forks
    )
    assert done.returncode == 1, done.output
    rows = [line for line in done.stdout.splitlines() if line.startswith("│ ") and "fail=" in line]
    assert len(rows) == 2
    assert "FAILED" in rows[0]
    failed = [line for line in done.stdout.splitlines() if line.startswith("trial 0 failed:")]
    assert len(failed) == 1 and "steps: failing as asked" in failed[0], done.stdout
    assert "FINISHED" in rows[1]
    assert "1 finished (0 cached), 1 failed" in done.stdout

    fast = mlharness_sweep(
        *args,
        "--fail-fast",
        "--jobs",
        "1",
        "--json",
        tracking_uri=tracking_uri,
        cwd=tmp_path,
        forks=forks,
    )
    assert fast.returncode == 1, fast.output
    doc = json.loads(fast.stdout)
    assert doc["state"] == "stopped" and doc["stop_reason"] == "fail-fast"
    assert [t["status"] for t in doc["trials"]] == ["FAILED"]


def test_random_search_and_a_metric_the_entry_point_never_logs(
    tracking_uri: str, tmp_path: Path, forks: ForkedCli
) -> None:
    args = (str(STEPS), "-P", "x=uniform(0,3)", "-P", "y=choice(a,b)", "--random", "3")
    plan = mlharness_sweep(
        *args, "--seed", "5", "--dry-run", tracking_uri=tracking_uri, cwd=tmp_path, forks=forks
    )
    assert plan.returncode == 0, plan.output
    sets = json.loads(plan.stdout)["plan"]
    again = mlharness_sweep(
        *args, "--seed", "5", "--dry-run", tracking_uri=tracking_uri, cwd=tmp_path, forks=forks
    )
    assert json.loads(again.stdout)["plan"] == sets and len(sets) == 3
    assert all(0 <= float(s["x"]) <= 3 and s["y"] in {"a", "b"} for s in sets)
    assert runs_of(tracking_uri) == []

    done = mlharness_sweep(
        str(STEPS),
        "-P",
        "x=uniform(0,3)",
        "--random",
        "2",
        "--seed",
        "5",
        "--jobs",
        "1",
        "--metric",
        "accuracy",
        *LOCAL,
        tracking_uri=tracking_uri,
        cwd=tmp_path,
        forks=forks,
    )
    assert done.returncode == 2, done.output
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--metric 'accuracy'" in errors[0], done.stderr
    assert "it logged: loss, score" in errors[0]
    assert "Traceback" not in done.stderr
    # It stopped after the first trial: one child, and the parent says why.
    parents = sweep_parents(tracking_uri)
    assert len(parents) == 1 and parents[0].info.status == "FAILED"
    assert len(children_of(tracking_uri, parents[0].info.run_id)) == 1


def test_bad_input_is_reported_at_once_and_leaves_no_parent_run(
    tracking_uri: str, tmp_path: Path, forks: ForkedCli
) -> None:
    done = mlharness_sweep(
        str(STEPS),
        "-P",
        "nope=1,2",
        "-P",
        "x=",
        "-P",
        "steps=int(5,2)",
        "-P",
        "delay=loguniform(0,1)",
        "-P",
        "y=gauss(1,2)",
        "--random",
        "2",
        *LOCAL,
        tracking_uri=tracking_uri,
        cwd=tmp_path,
        forks=forks,
    )
    assert done.returncode == 2, done.output
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    needles = (
        "5 problem(s)",
        "unknown parameter 'nope'",
        "-P x=: empty list",
        "int(5,2): low 5",
        "loguniform needs 0 < low",
        "unknown distribution 'gauss'",
    )
    for needle in needles:
        assert needle in errors[0], errors[0]
    typed = mlharness_sweep(
        str(STEPS), "-P", "x=1,b", *LOCAL, tracking_uri=tracking_uri, cwd=tmp_path, forks=forks
    )
    assert typed.returncode == 2 and "x: 'b' is not a float" in typed.stderr
    refused = mlharness_sweep(
        str(STEPS),
        "-P",
        "x=1",
        "--cluster",
        "tcp://127.0.0.1:9",
        *LOCAL,
        tracking_uri=tracking_uri,
        cwd=tmp_path,
        forks=forks,
    )
    assert refused.returncode == 2 and "workers cannot share it" in refused.stderr
    assert runs_of(tracking_uri) == [] if Path(tracking_uri[10:]).exists() else True
    # --resume of a run that is not a sweep.
    client = MlflowClient(tracking_uri)
    plain = client.create_run("0").info.run_id
    resume = mlharness_sweep(
        "--resume", plain, tracking_uri=tracking_uri, cwd=tmp_path, forks=forks
    )
    assert resume.returncode == 2 and f"run {plain} is not a sweep" in resume.stderr
    assert [r.info.run_id for r in runs_of(tracking_uri)] == [plain]


@pytest.mark.slow
def test_optimize_prunes_hopeless_trials(
    tracking_uri: str, tmp_path: Path, forks: ForkedCli
) -> None:
    done = mlharness_sweep(
        str(STEPS),
        "-P",
        "x=uniform(0,10)",
        "-P",
        "steps=8",
        "-P",
        "delay=0.5",
        "--optimize",
        "--trials",
        "4",
        "--seed",
        "3",
        "--jobs",
        "2",
        "--metric",
        "score",
        *LOCAL,
        "--json",
        tracking_uri=tracking_uri,
        cwd=tmp_path,
        forks=forks,
    )
    assert done.returncode == 0, done.output
    doc = json.loads(done.stdout)
    statuses = [t["status"] for t in doc["trials"]]
    assert len(statuses) == 4 and "PRUNED" in statuses, doc["trials"]
    client = MlflowClient(tracking_uri)
    for trial in doc["trials"]:
        run = client.get_run(trial["run_id"])
        steps = client.get_metric_history(trial["run_id"], "score")
        assert 0 <= float(trial["params"]["x"]) <= 10
        if trial["status"] == "PRUNED":
            assert run.info.status == "KILLED"
            assert run.data.tags["mlharness.sweep.pruned"] == "true"
            assert len(steps) < 8
        else:
            assert run.info.status == "FINISHED" and len(steps) == 8
    best = max((t for t in doc["trials"] if t["status"] == "FINISHED"), key=lambda t: t["value"])
    assert doc["best"]["run_id"] == best["run_id"]


def _wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_ctrl_c_leaves_a_sweep_that_resume_finishes_like_an_uninterrupted_one(
    tracking_uri: str, tmp_path: Path, forks: ForkedCli
) -> None:
    args = (str(STEPS), "-P", "x=1,2,3", "-P", "steps=3", "--jobs", "2", "--metric", "score")
    # What the uninterrupted sweep ends with: every trial FINISHED, its score the last of the
    # entry point's steps, x * 3 (test_grid_... shows an uninterrupted sweep's values are
    # exactly these: x=1 -> 3.0, x=3 -> 9.0 for the default steps=3).
    expected = [({"x": str(x), "steps": "3"}, "FINISHED", 3.0 * x) for x in (1, 2, 3)]
    env = cli_env(tracking_uri, {"STEPS_DELAY": "2"})
    client = MlflowClient(tracking_uri)
    client.search_experiments()  # create the store now: two processes creating it would race
    sweep = subprocess.Popen(
        sweep_cmd(*args, *LOCAL, tracking_uri=tracking_uri),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:

        def parent() -> str | None:
            found = [
                r for r in runs_of(tracking_uri) if "mlharness.sweep.definition" in r.data.tags
            ]
            return found[0].info.run_id if found else None

        def mid_trial() -> bool:
            assert sweep.poll() is None, sweep.communicate()
            pid = parent()
            return pid is not None and any(
                client.get_metric_history(c.info.run_id, "score")
                for c in children_of(tracking_uri, pid)
            )

        _wait_for(mid_trial, 300, "a trial to log its first step")
        os.killpg(sweep.pid, signal.SIGINT)
        out, err = sweep.communicate(timeout=180)
    finally:
        if sweep.poll() is None:
            os.killpg(sweep.pid, signal.SIGKILL)
            sweep.wait()
    assert sweep.returncode == 130, out + err
    parent_id = parent()
    assert parent_id is not None
    assert f"mlharness sweep --resume {parent_id}" in err
    assert client.get_run(parent_id).info.status == "KILLED"
    statuses = [c.info.status for c in children_of(tracking_uri, parent_id)]
    assert "RUNNING" not in statuses and "KILLED" in statuses, statuses

    resumed = mlharness_sweep(
        "--resume", parent_id, "--json", tracking_uri=tracking_uri, cwd=tmp_path, forks=forks
    )
    doc = result_of(resumed)
    assert resumed.returncode == 0, resumed.output
    assert doc["resumed"] and doc["parent_run_id"] == parent_id
    assert summary(doc) == expected
    finished = [c for c in children_of(tracking_uri, parent_id) if c.info.status == "FINISHED"]
    assert sorted(c.data.tags["mlharness.sweep.trial"] for c in finished) == ["0", "1", "2"]
    assert client.get_run(parent_id).info.status == "FINISHED"
