"""A sweep on a sqlite store that does not exist yet: the sweep makes it (a copy of the
migrated template, ``harness.store.new_store``) only once the sweep is valid.

What must hold: a valid sweep ends with the store at its path, holding the parent and its
children, and nothing else beside it; a sweep refused at validation leaves no store and no
temporary file behind (nothing is written before the input is checked)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.store_cli_forks import ForkedCli
from tests.support.sweeps import STEPS, children_of, mlharness_sweep, result_of

pytestmark = [pytest.mark.functional]
LOCAL = ("--env-manager", "local")


def test_a_new_sqlite_store_is_made_only_when_the_sweep_is_valid(
    tmp_path: Path, forks: ForkedCli
) -> None:
    store = tmp_path / "stores" / "new.db"
    store.parent.mkdir()
    uri = f"sqlite:///{store}"
    refused = mlharness_sweep(
        str(STEPS), "-P", "x=1,b", *LOCAL, tracking_uri=uri, cwd=tmp_path, forks=forks
    )
    assert refused.returncode == 2 and "x: 'b' is not a float" in refused.stderr
    assert [line for line in refused.stderr.splitlines() if line.strip()] == [
        line for line in refused.stderr.splitlines() if line.startswith("error:")
    ], refused.stderr  # MLflow's migration log lines do not reach the terminal
    assert list(store.parent.iterdir()) == []

    done = mlharness_sweep(
        str(STEPS),
        "-P",
        "x=1,2",
        "--jobs",
        "2",
        "--json",
        *LOCAL,
        tracking_uri=uri,
        cwd=tmp_path,
        forks=forks,
    )
    doc = result_of(done)
    assert done.returncode == 0, done.output
    assert [t["status"] for t in doc["trials"]] == ["FINISHED", "FINISHED"]
    assert sorted(p.name for p in store.parent.iterdir()) == ["new.db"]
    children = children_of(uri, doc["parent_run_id"])
    assert sorted(r.info.run_id for r in children) == sorted(t["run_id"] for t in doc["trials"])
