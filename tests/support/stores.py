"""Fresh sqlite tracking stores without paying for MLflow's migrations every time.

The first process that opens a new ``sqlite:///`` store runs MLflow's whole alembic history
(~60 migrations: 2-4 s, more on a loaded machine), and the suite makes hundreds of fresh
stores. An empty store MLflow has just migrated is the same file whoever copies it, so the
first caller in a test run builds one (in a subprocess, with MLflow's own client, under a
file lock shared by the xdist workers) and every fresh store is a copy of it.

The one thing a new store records about the process that made it is the ``Default``
experiment's artifact location (``<cwd>/mlruns/0``); a copy gets ``<artifacts>/0``, by
default ``mlruns/`` beside the database, which is what MLflow writes for a store created
from the directory it lives in (the ``tracking_uri`` fixture's case).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.kernel.migrated import keep_migrated

__all__ = ["fresh_store", "fresh_store_uri", "schema_of", "unopened_store"]

_MAKE_TEMPLATE = """
import sys
from mlflow.tracking import MlflowClient
client = MlflowClient("sqlite:///" + sys.argv[1])
client.search_experiments()
client.search_registered_models()
"""


def _mlflow_version() -> str:
    from importlib.metadata import version

    return version("mlflow")


def _template() -> Path:
    """The migrated empty store of this MLflow version (with its ``Default`` experiment),
    made once per machine and version (``keep_migrated``: under a lock, atomically)."""
    root = Path(tempfile.gettempdir()) / "mlharness-test-stores"
    template = root / f"mlflow-{_mlflow_version()}.db"
    if template.exists():
        return template
    root.mkdir(exist_ok=True)
    made = root / f"{template.name}.{os.getpid()}.made"
    made.unlink(missing_ok=True)

    def migrate() -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        subprocess.run(
            [sys.executable, "-c", _MAKE_TEMPLATE, str(made)],
            cwd=root,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )

    try:
        keep_migrated(made, template, migrate)
    finally:
        made.unlink(missing_ok=True)
    return template


def fresh_store(database: Path, artifacts: Path | None = None) -> Path:
    """Write a new, empty, migrated MLflow sqlite store at ``database`` (which must not
    exist yet) whose Default experiment keeps its artifacts under ``artifacts``."""
    if database.exists():
        raise FileExistsError(f"{database} exists: a fresh store goes to a new path")
    database.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_template(), database)
    location = (artifacts or database.parent / "mlruns").resolve() / "0"
    with sqlite3.connect(database) as db:
        db.execute(
            "UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0",
            (str(location),),
        )
    return database


def fresh_store_uri(database: Path, artifacts: Path | None = None) -> str:
    """``sqlite:///`` URI of :func:`fresh_store` ``(database, artifacts)``."""
    return f"sqlite:///{fresh_store(database, artifacts)}"


def unopened_store(directory: Path) -> tuple[str, Path]:
    """A ``sqlite:///`` URI whose database does not exist yet, and that database's path: a
    command that refuses its input before it touches the store leaves it uncreated (the
    ``tracking_uri`` fixture's store exists before the test starts, so it cannot show that)."""
    database = directory / "unopened" / "mlflow.db"
    database.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{database}", database


def _definition(sql: str | None) -> list[str]:
    """A CREATE statement as its sorted clauses: MLflow's batch migrations rebuild tables
    with their constraints in set order, which follows the migrating process's hash seed,
    so two stores MLflow itself makes can list the same constraints in another order."""
    return sorted(line.strip().rstrip(",").strip() for line in (sql or "").splitlines())


def schema_of(database: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """A sqlite store's tables, indexes and alembic revision, comparable across stores."""
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        revision = db.execute("SELECT version_num FROM alembic_version").fetchall()
    return [(kind, name, _definition(sql)) for kind, name, sql in rows], revision
