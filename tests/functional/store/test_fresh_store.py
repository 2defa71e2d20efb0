"""The suite's fresh stores (copies of one migrated empty store) are what MLflow makes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.support.stores import fresh_store, fresh_store_uri

pytestmark = pytest.mark.functional


def _definition(sql: str | None) -> list[str]:
    """A CREATE statement as its sorted clauses: MLflow's batch migrations rebuild tables
    with their constraints in set order, which follows the migrating process's hash seed,
    so two stores MLflow itself makes can list the same constraints in another order."""
    return sorted(line.strip().rstrip(",").strip() for line in (sql or "").splitlines())


def _schema(database: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        revision = db.execute("SELECT version_num FROM alembic_version").fetchall()
    return [(kind, name, _definition(sql)) for kind, name, sql in rows], revision


def test_a_copied_store_equals_one_mlflow_makes_and_keeps_its_own_artifacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "made").mkdir()
    monkeypatch.chdir(tmp_path / "made")  # MLflow puts Default's artifacts under the cwd
    made = tmp_path / "made" / "mlflow.db"
    client = MlflowClient(f"sqlite:///{made}")
    client.search_experiments()
    client.search_registered_models()

    copied = fresh_store(tmp_path / "copy" / "mlflow.db")
    assert _schema(copied) == _schema(made)

    copy_client = MlflowClient(fresh_store_uri(tmp_path / "other" / "mlflow.db"))
    default = copy_client.get_experiment("0")
    assert default.artifact_location == str(tmp_path / "other" / "mlruns" / "0")
    run = copy_client.create_run("0")
    assert run.info.artifact_uri.startswith(str(tmp_path / "other" / "mlruns" / "0"))
    assert client.get_experiment("0").artifact_location == str(tmp_path / "made" / "mlruns" / "0")
    with pytest.raises(FileExistsError):
        fresh_store(copied)
