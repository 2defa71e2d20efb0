"""An embedded Airflow for ``airflow dags test``: a SQLite home, migrated once per session."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.airflow import AIRFLOW, airflow_env


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``airflow db migrate`` on SQLite, once (about 3 s idle; the time is printed)."""
    home = tmp_path_factory.mktemp("airflow-home")
    (home / "dags").mkdir()
    started = time.monotonic()
    done = subprocess.run(
        [AIRFLOW, "db", "migrate"],
        env=airflow_env(home, home / "dags"),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    sys.stderr.write(f"airflow db migrate (SQLite): {time.monotonic() - started:.1f} s\n")
    return home
