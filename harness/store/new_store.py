"""A new sqlite tracking store in milliseconds: a copy of an empty store MLflow migrated once.

The first process that opens a ``sqlite:///`` file that does not exist runs MLflow's whole
alembic history (about 60 migrations: 1-3 s of CPU, before anything else happens), and
every new project directory, sweep or demo starts with one. The migrated, still empty
database is the same file for the same installed MLflow, SQLAlchemy and Alembic, so the
first one is kept in the cache (``$MLHARNESS_CACHE_DIR`` or ~/.cache/mlharness,
``mlflow/store-<versions digest>.db``) and every later new store is a copy of it.

What a store records about the process that made it (the ``Default`` experiment and its
artifact location under that process's working directory) is not in the copy: MLflow
adds it when it opens the store, as it does for a store it created itself.

A copy is written under a temporary name beside the store and linked into place, never
over a store that appeared meanwhile; anything unexpected leaves the store to MLflow.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from pathlib import Path

from harness.kernel.cache import cache_home
from harness.kernel.migrated import keep_migrated, versions_digest

__all__ = ["ensure_store", "sqlite_file", "template_path"]

# An absolute file path, without a query or escapes (anything else is MLflow's to read).
_SQLITE_FILE = re.compile(r"^sqlite:///(/[^?#%]+)$")
_SCHEMA_DISTRIBUTIONS = ("mlflow", "mlflow-skinny", "sqlalchemy", "alembic")


def sqlite_file(uri: str) -> Path | None:
    """The database file of a ``sqlite:////absolute/path`` URI, else None."""
    found = _SQLITE_FILE.match(uri)
    return Path(found.group(1)) if found else None


def template_path() -> Path:
    """Where the cache keeps the empty migrated store of the installed MLflow (its name
    changes with the version of MLflow, SQLAlchemy or Alembic)."""
    digest = versions_digest(_SCHEMA_DISTRIBUTIONS)
    return cache_home() / "mlflow" / f"store-{digest}.db"


def ensure_store(uri: str) -> bool:
    """Make the store of ``uri`` from the template when it is a sqlite file that does not
    exist yet (in a directory that does); True when this call made it."""
    path = sqlite_file(uri)
    if path is None or path.exists() or not path.parent.is_dir():
        return False
    from harness.store.mlflow_api import migrate_sqlite_store

    temp = path.with_name(f".{path.name}.mlharness-{uuid.uuid4().hex}.tmp")
    try:
        keep_migrated(temp, template_path(), lambda: migrate_sqlite_store(temp))
        os.link(temp, path)
    except FileExistsError:  # another process made it meanwhile: theirs stands
        return False
    except Exception:  # MLflow creates (or reports) the store, as it did before
        return False
    finally:  # the temporary name, and any journal sqlite left beside it if interrupted
        for leftover in (temp, *path.parent.glob(f"{temp.name}-*")):
            with contextlib.suppress(OSError):
                leftover.unlink()
    return True
