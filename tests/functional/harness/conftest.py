"""One recorded run of projects/rf shared by the harness tests that replay it, and the
``mlharness`` commands of a module as forks of one process that imported the CLI once.

``verify --perturb`` and ``verify --recorded-env`` each start from the same thing: a clean
``mlharness run`` of projects/rf (``n_estimators=5``, ``--env-manager local``) committed in
a git repository. That run is made once per test session, even across xdist workers (the
first worker makes it under a file lock in the directory the workers share), and each test
gets its own copy of the store, so the replays one test adds never show in another's.

``forked_cli``: every ``mlharness run/show/replay/verify`` a test starts is still its own
process running the CLI's ``main`` (own cwd, environment, argv, stdout, stderr, exit code),
forked from one process per module that imported the CLI, MLflow and the run operations
once (``tests/support/store_cli_forks.py``), instead of ~2.2 s of imports per command. The
entry points those commands launch are cold processes as ever (MLflow starts them).
A command whose start-up is the point (Ctrl-C reaching a real console-script process) stays
a cold ``mlharness`` subprocess.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.git_servers import make_repo
from tests.support.harness_cli import json_of, mlharness
from tests.support.mlflow_cli import CliResult
from tests.support.paths import PROJECTS
from tests.support.store_cli_forks import PRELOAD, Command, ForkedCli
from tests.support.stores import fresh_store_uri

__all__ = ["Forked", "RecordedRf", "forked_cli", "recorded_rf"]

# What run/show/replay/verify import beyond the store commands' PRELOAD.
RUN_PRELOAD = (
    *PRELOAD,
    "harness.run.cli",
    "harness.run.operations",
    "harness.run.launch",
    "harness.run.replay",
    "harness.run.perturbation",
    "harness.run.comparison",
    "harness.run.source",
    "harness.run.spec",
    "mlflow.projects",
    "mlflow.projects.backend.local",
)


class Forked:
    """``mlharness ARGS`` as a fork of the module's zygote, called like
    ``tests.support.harness_cli.mlharness`` (``--tracking-uri`` added the same way)."""

    def __init__(self, zygote: ForkedCli) -> None:
        self.zygote = zygote

    def __call__(
        self,
        *args: str,
        tracking_uri: str,
        cwd: Path,
        timeout: float = 600,
        env: dict[str, str] | None = None,
    ) -> CliResult:
        command = list(args)
        if args and args[0] in {"run", "show", "replay", "verify"}:
            command += ["--tracking-uri", tracking_uri]
        return self.zygote.run(Command(command, cwd, tracking_uri, env, timeout=timeout))


@pytest.fixture(scope="module")
def forked_cli() -> Iterator[Forked]:
    """``mlharness`` commands forked from one process that imported them (see above)."""
    with ForkedCli(RUN_PRELOAD) as zygote:
        assert zygote.import_output == "", zygote.import_output
        yield Forked(zygote)


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
