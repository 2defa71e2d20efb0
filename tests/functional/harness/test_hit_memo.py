"""The memo fast path answers a repeated ``mlharness run`` without mlflow, and only then.

Two real runs of the tiny project; every other decision is read from a process that runs
the CLI's ``main()`` (to see ``sys.modules`` after it) or asks ``hit_memo`` directly.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.support.harness_cli import TINY, mlharness
from tests.support.mlflow_cli import cli_env

pytestmark = pytest.mark.functional

# Runs the CLI in-process, then reports whether mlflow was imported.
_MAIN = """
import sys
from harness.app import main
sys.argv = ["mlharness", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
print("mlflow-imported" if "mlflow" in sys.modules else "mlflow-absent", file=sys.stderr)
sys.exit(code)
"""
# Asks the fast path only (no full path): prints the run id it would answer, or None.
_FAST = """
import json, sys
from harness.run import run_memo as hit_memo
found = hit_memo.probe(hit_memo.Request(**json.loads(sys.argv[1])))
hit = hit_memo.answer(found) if found else None
print(hit.run_id if hit else None)
"""


def test_memo_answers_without_mlflow_and_falls_through_on_any_change(
    tracking_uri: str, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    data = work / "data.txt"
    data.write_text("one\n")
    env = cli_env(tracking_uri, {"MLHARNESS_CACHE_DIR": str(tmp_path / "cache")})
    args = ["-P", "p=data.txt", "-P", "s=a", "--env-manager", "local"]
    request = {
        "project": str(TINY),
        "entry_point": "main",
        "params": {"p": "data.txt", "s": "a"},
        "env_manager": "local",
        "experiment_name": None,
        "tracking_uri": tracking_uri,
    }

    def fast(**change: object) -> str:
        argv = [sys.executable, "-c", _FAST, json.dumps({**request, **change})]
        done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    first = mlharness("run", str(TINY), *args, tracking_uri=tracking_uri, cwd=work, env=env)
    assert first.returncode == 0, first.output
    run_a = first.stdout.split("run: ")[1].split()[0]

    # The CLI itself answers from the memo, with mlflow never imported.
    main = [sys.executable, "-c", _MAIN, "run", str(TINY), *args, "--tracking-uri", tracking_uri]
    debug_env = {**env, "MLHARNESS_MEMO_DEBUG": "1"}
    done = subprocess.run(main, cwd=work, env=debug_env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"cached: {run_a}"
    assert "mlharness-memo: hit" in done.stderr and "mlflow-absent" in done.stderr
    # --json prints what the full path prints on a hit.
    json_hit = subprocess.run([*main, "--json"], cwd=work, env=env, capture_output=True, text=True)
    assert json.loads(json_hit.stdout)["run_id"] == run_a and json.loads(json_hit.stdout)["cached"]

    assert fast() == run_a
    assert fast(params={"p": "data.txt", "s": "b"}) == "None"
    assert fast(force=True) == "None"
    assert fast(entry_point="quoted") == "None"

    # A corrupt memo falls through; the full path still answers from the store and rewrites it.
    memos = list((tmp_path / "cache" / "hits").glob("*.json"))
    assert len(memos) == 1
    memos[0].write_text("{not json")
    assert fast() == "None"
    done = subprocess.run(main, cwd=work, env=debug_env, capture_output=True, text=True)
    assert done.stdout.strip() == f"cached: {run_a}", done.stderr
    assert "mlharness-memo: miss" in done.stderr and "mlflow-imported" in done.stderr
    assert fast() == run_a

    # Edited input content: no fast answer; the full path runs anew (run B).
    data.write_text("two\n")
    assert fast() == "None"
    second = mlharness("run", str(TINY), *args, tracking_uri=tracking_uri, cwd=work, env=env)
    run_b = second.stdout.split("run: ")[1].split()[0]
    assert run_b != run_a and fast() == run_b
    # Content back: the memo (for B) does not match, the full path finds A in the store.
    data.write_text("one\n")
    assert fast() == "None"
    back = mlharness("run", str(TINY), *args, tracking_uri=tracking_uri, cwd=work, env=env)
    assert back.stdout.strip() == f"cached: {run_a}", back.output
    assert fast() == run_a

    # A deleted run is no longer answered.
    MlflowClient(tracking_uri).delete_run(run_a)
    assert fast() == "None"
