"""One recorded run of projects/rf shared by the harness tests that replay it.

``verify --perturb`` and ``verify --recorded-env`` each start from the same thing: a clean
``mlharness run`` of projects/rf (``n_estimators=5``, ``--env-manager local``) committed in
a git repository. That run is made once per test session, even across xdist workers (the
first worker makes it under a file lock in the directory the workers share), and each test
gets its own copy of the store, so the replays one test adds never show in another's.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.git_servers import make_repo
from tests.support.harness_cli import json_of, mlharness
from tests.support.paths import PROJECTS
from tests.support.stores import fresh_store_uri

__all__ = ["RecordedRf", "recorded_rf"]


@dataclass(frozen=True)
class RecordedRf:
    """The shared run, seen through this test's own copy of the store."""

    tracking_uri: str  # the test's copy (== the ``tracking_uri`` fixture)
    repo: Path  # the git repository holding projects/rf under rf/ (never changed)
    run_id: str


def _record(shared: Path) -> dict[str, str]:
    repo = shared / "repo"
    make_repo(repo, {"rf": PROJECTS / "rf"})
    uri = fresh_store_uri(shared / "mlflow.db")
    recorded = mlharness(
        "run", str(repo / "rf"), "-P", "n_estimators=5", "--env-manager", "local", "--json",
        tracking_uri=uri, cwd=shared,
    )  # fmt: skip
    return {"repo": str(repo), "run_id": json_of(recorded)["run_id"]}


@pytest.fixture
def recorded_rf(
    tracking_uri: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> RecordedRf:
    """The session's recorded rf run, copied into this test's ``tracking_uri`` store."""
    base = tmp_path_factory.getbasetemp()
    shared = (base if worker_id == "master" else base.parent) / "recorded-rf"
    shared.mkdir(exist_ok=True)
    with (shared / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = shared / "recorded.json"
        if not record.exists():
            record.write_text(json.dumps(_record(shared)))
        made = json.loads(record.read_text())
        # The test's fresh store is replaced before anything opened it; artifact locations
        # are absolute, so the copy reads the shared run's artifacts.
        shutil.copyfile(shared / "mlflow.db", tmp_path / "mlflow.db")
    return RecordedRf(tracking_uri, Path(made["repo"]), made["run_id"])
