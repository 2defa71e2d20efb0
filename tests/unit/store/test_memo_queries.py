"""The run memo's read-only store queries answer what MLflow answers, and only for the
schema revision they were written for: any other revision is a ``LookupError`` (the memo
then falls through to the full path, MLflow itself)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from harness.kernel.run_tags import TAG_CACHE_KEY
from harness.run import run_memo
from harness.run.run_cache import find_cached
from harness.store import memo_queries, mlflow_boundary


def test_the_known_revision_is_the_head_of_the_pinned_mlflows_migrations() -> None:
    import mlflow.store.db_migrations as migrations
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    heads = set(ScriptDirectory.from_config(config).get_heads())
    assert heads <= memo_queries.KNOWN_REVISIONS, (
        f"MLflow's schema is now at {heads}: check the memo's SQL against it, then add it"
    )


def test_sqlite_lookup_agrees_with_mlflow_search(tracking_uri: str) -> None:
    client = mlflow_boundary.client(tracking_uri)
    path = tracking_uri[len("sqlite:///") :]
    experiment = client.create_experiment("memo")

    def finished(key: str, status: str = "FINISHED", experiment_id: str = "0") -> str:
        run_id = str(client.create_run(experiment_id).info.run_id)
        client.set_tag(run_id, TAG_CACHE_KEY, key)
        client.set_terminated(run_id, status)
        return run_id

    def ask(key: str) -> str | None:
        return memo_queries.newest_sqlite_hit(path, TAG_CACHE_KEY, key)

    assert memo_queries.sqlite_revision(path) in memo_queries.KNOWN_REVISIONS
    assert ask("k") is None
    older = finished("k")
    finished("k", "FAILED")
    newer = finished("k", experiment_id=experiment)
    assert ask("k") == find_cached(client, "k") == newer
    client.delete_experiment(experiment)
    assert ask("k") == find_cached(client, "k") == older
    client.delete_run(older)
    assert ask("k") is None and find_cached(client, "k") is None
    assert run_memo.store_answer(tracking_uri, "other") is None
    with pytest.raises(LookupError):
        run_memo.store_answer("file:///tmp/mlruns", "k")


def test_a_store_at_a_revision_it_does_not_know_is_not_answered(tracking_uri: str) -> None:
    client = mlflow_boundary.client(tracking_uri)
    path = tracking_uri[len("sqlite:///") :]
    run_id = str(client.create_run("0").info.run_id)
    client.set_tag(run_id, TAG_CACHE_KEY, "k")
    client.set_terminated(run_id, "FINISHED")
    assert run_memo.store_answer(tracking_uri, "k") == run_id
    with sqlite3.connect(path) as con:
        con.execute("UPDATE alembic_version SET version_num = 'f00dfeedbeef'")
    assert memo_queries.sqlite_revision(path) == "f00dfeedbeef"
    with pytest.raises(LookupError, match="f00dfeedbeef"):
        run_memo.store_answer(tracking_uri, "k")


def test_a_sqlite_file_that_is_not_an_mlflow_store_is_not_answered(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE runs (run_uuid TEXT)")
    assert memo_queries.sqlite_revision(str(path)) is None
    with pytest.raises(LookupError):
        run_memo.store_answer(f"sqlite:///{path}", "k")
