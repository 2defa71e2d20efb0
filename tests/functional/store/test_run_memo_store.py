"""A cached ``mlharness run`` is answered by the boundary's read-only memo queries without
importing MLflow, SQLAlchemy, pandas or numpy, on a store of the pinned MLflow; on a store
whose schema revision the queries do not know, the memo does not answer and the full path
(MLflow itself) decides.

(pydantic is not in the list of the CLI's answer: typer 0.29 coerces every CLI option
through pydantic, so every typer command imports it. ``harness.run.memo_cli`` answers the
same arguments before typer is built, so the console script, ``harness.entry.main``,
imports neither typer, pydantic nor rich for its answer.)
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.mlflow_cli import cli_env
from tests.support.store_cli_forks import Command, ForkedCli
from tests.support.stores import fresh_store

pytestmark = pytest.mark.functional

TINY = Path(__file__).resolve().parents[1] / "harness" / "tiny"
HEAVY = ("mlflow", "sqlalchemy", "pandas", "numpy", "yaml")
# Runs the CLI in-process, then reports which heavy libraries it imported.
_MAIN = f"""
import sys
from harness.app import main
sys.argv = ["mlharness", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
print("imported:", ",".join(heavy) or "-", file=sys.stderr)
sys.exit(code)
"""
FAST_HEAVY = (*HEAVY, "pydantic", "typer", "rich")
# The console script (harness.entry.main) reads the same arguments without typer
# (harness.run.memo_cli): not even typer, pydantic or rich is imported for its answer.
_FAST = _MAIN.replace("from harness.app import main", "from harness.entry import main").replace(
    repr(HEAVY), repr(FAST_HEAVY)
)


def test_the_memo_answers_light_on_a_known_store_and_falls_through_on_an_unknown_one(
    tmp_path: Path,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "data.txt").write_text("one\n")
    db = fresh_store(work / "mlflow.db")  # a copy of a migrated store, as MLflow makes it
    uri = f"sqlite:///{db}"
    env = cli_env(
        uri, {"MLHARNESS_CACHE_DIR": str(tmp_path / "cache"), "MLHARNESS_MEMO_DEBUG": "1"}
    )
    args = ["run", str(TINY), "-P", "p=data.txt", "-P", "s=a", "--env-manager", "local"]
    args += ["--tracking-uri", uri]

    # The two full-path runs are forks of one process that imported MLflow once
    # (store_cli_forks); the hit below must be a cold process: its imports are the point.
    forks = ForkedCli()
    first = forks.run(Command(args, work, full_env=env, timeout=600))
    assert first.returncode == 0, first.stderr[-3000:]
    run_id = first.stdout.split("run: ")[1].split()[0]

    hit = subprocess.run(
        [sys.executable, "-c", _MAIN, *args], cwd=work, env=env, capture_output=True, text=True
    )
    assert hit.returncode == 0, hit.stderr
    assert hit.stdout.strip() == f"cached: {run_id}"
    assert "mlharness-memo: hit" in hit.stderr and "imported: -" in hit.stderr, hit.stderr
    fast = subprocess.run(
        [sys.executable, "-c", _FAST, *args], cwd=work, env=env, capture_output=True, text=True
    )
    assert fast.returncode == 0 and fast.stdout.strip() == f"cached: {run_id}", fast.stderr
    assert "mlharness-memo: hit" in fast.stderr and "imported: -" in fast.stderr, fast.stderr

    with sqlite3.connect(db) as con:  # a store from another MLflow: the SQL does not apply
        con.execute("UPDATE alembic_version SET version_num = 'f00dfeedbeef'")
    try:
        other = forks.run(Command(args, work, full_env=env, timeout=600))
    finally:
        forks.close()
    assert "mlharness-memo: miss" in other.stderr, other.stderr
    # MLflow itself refuses a schema it does not know: one line, exit 5, no traceback.
    errors = [line for line in other.stderr.splitlines() if line.startswith("error:")]
    assert other.returncode == 5 and len(errors) == 1, other.stderr
    assert "f00dfeedbeef" in errors[0] and "Traceback" not in other.stderr
