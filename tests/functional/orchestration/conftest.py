"""An embedded Airflow for ``airflow dags test``: a SQLite home, migrated once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.airflow import migrated_home


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with a migrated SQLite database: a copy of the one ``airflow db migrate`` made
    for this Airflow version (tests/support/airflow.py), not a migration per session."""
    return migrated_home(tmp_path_factory.mktemp("airflow-home"))
