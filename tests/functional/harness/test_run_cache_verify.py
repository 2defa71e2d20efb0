"""``mlharness run`` / ``show`` / ``verify`` on projects/rf, in a temp git repo, end to end.

Each ``mlharness`` command is its own process forked from one that imported the CLI once
(``forked_cli``, tests/functional/harness/conftest.py); the entry points they launch are cold.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from harness.schemas.manifest import digest
from tests.functional.harness.conftest import Forked
from tests.support.git_servers import commit_change, make_repo
from tests.support.harness_cli import all_runs, json_of, manifest_of
from tests.support.paths import PROJECTS
from tests.support.stores import unopened_store

pytestmark = pytest.mark.functional
SMALL = ["-P", "n_estimators=5", "--env-manager", "local"]


def test_run_records_a_manifest_hits_the_cache_and_verifies_after_the_tree_moved_on(
    tracking_uri: str, tmp_path: Path, forked_cli: Forked
) -> None:
    repo = tmp_path / "repo"
    head = make_repo(repo, {"rf": PROJECTS / "rf"})

    first = forked_cli(
        "run",
        str(repo / "rf"),
        *SMALL,
        "--experiment-name",
        "h",
        "--json",
        tracking_uri=tracking_uri,
        cwd=tmp_path,
    )
    outcome = json_of(first)
    assert first.returncode == 0 and outcome["cached"] is False, first.output
    run_id = outcome["run_id"]
    run = MlflowClient(tracking_uri).get_run(run_id)
    assert run.info.status == "FINISHED"
    doc = manifest_of(tracking_uri, run_id, tmp_path / "m")
    assert run.data.tags["mlharness.manifest_digest"] == digest(doc)
    assert run.data.tags["mlharness.cache_key"] == doc["cache_key"] == outcome["cache_key"]
    assert run.data.tags["mlflow.source.git.commit"] == head
    assert doc["source"] == {
        "uri": str(repo),
        "commit": head,
        "subdir": "rf",
        "version": None,
        "dirty": False,
        "diff_digest": None,
        "tree_digest": doc["source"]["tree_digest"],
        "template": None,
    }
    assert doc["run_spec"]["parameters"]["n_estimators"] == "5"
    assert doc["run_spec"]["experiment_name"] == "h"
    assert doc["seeds"] == {"random_state": "42"}
    assert doc["metrics"] == run.data.metrics and "accuracy" in doc["metrics"]
    assert set(doc["outputs"]) >= {"plots/confusion_matrix.png", "plots/feature_importance.png"}
    assert any(p.startswith("mlflow==") for p in doc["environment"]["pip_freeze"])

    cached = forked_cli("run", str(repo / "rf"), *SMALL, tracking_uri=tracking_uri, cwd=tmp_path)
    assert cached.returncode == 0, cached.output
    assert cached.stdout.strip() == f"cached: {run_id}"
    assert len(all_runs(tracking_uri)) == 1

    shown = forked_cli("show", run_id, "--json", tracking_uri=tracking_uri, cwd=tmp_path)
    assert json_of(shown) == doc
    readable = forked_cli("show", run_id, tracking_uri=tracking_uri, cwd=tmp_path)
    assert readable.returncode == 0 and "accuracy" in readable.stdout
    assert "matches tag" in readable.stdout

    # The working tree moves on; verify replays the recorded commit, not the new code.
    commit_change(repo, "rf/rf_project/data.py", "\nraise SystemExit('new code ran')\n")
    verified = forked_cli("verify", run_id, "--json", tracking_uri=tracking_uri, cwd=tmp_path)
    report = json_of(verified)
    assert verified.returncode == 0 and report["identical"] is True, verified.output
    replay_id = report["replay_run_id"]
    replayed = manifest_of(tracking_uri, replay_id, tmp_path / "r")
    assert replayed["source"]["commit"] == head
    assert replayed["source"]["tree_digest"] == doc["source"]["tree_digest"]
    assert replayed["outputs"] == doc["outputs"] and replayed["metrics"] == doc["metrics"]
    client = MlflowClient(tracking_uri)
    assert client.get_run(replay_id).data.tags["mlharness.replay_of"] == run_id

    forced = forked_cli(
        "run",
        str(repo / "rf"),
        *SMALL,
        "--force",
        "--json",
        tracking_uri=tracking_uri,
        cwd=tmp_path,
    )
    assert forced.returncode == 1, forced.output  # the new code refuses to run
    assert len(all_runs(tracking_uri)) == 3


def test_bad_parameters_exit_2_and_write_nothing(tmp_path: Path, forked_cli: Forked) -> None:
    tracking_uri, database = unopened_store(tmp_path)
    result = forked_cli(
        "run",
        str(PROJECTS / "rf"),
        "-P",
        "n_estimator=5",
        "-P",
        "test_size=big",
        "-e",
        "main",
        "--env-manager",
        "local",
        tracking_uri=tracking_uri,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.output
    assert result.stderr.count("error:") == 1
    assert "did you mean 'n_estimators'?" in result.stderr and "test_size" in result.stderr
    assert not database.exists()
    unknown = forked_cli(
        "run", str(PROJECTS / "rf"), "-e", "trian", tracking_uri=tracking_uri, cwd=tmp_path
    )
    assert unknown.returncode == 2 and "unknown entry point 'trian'" in unknown.stderr
    assert not database.exists()


def test_dirty_tree_is_recorded_and_require_clean_refuses_it(
    tmp_path: Path, forked_cli: Forked
) -> None:
    tracking_uri, database = unopened_store(tmp_path)
    repo = tmp_path / "repo"
    make_repo(repo, {"rf": PROJECTS / "rf"})
    (repo / "rf" / "scratch.txt").write_text("uncommitted")
    refused = forked_cli(
        "run", str(repo / "rf"), *SMALL, "--require-clean", tracking_uri=tracking_uri, cwd=tmp_path
    )
    assert refused.returncode == 2 and "uncommitted changes" in refused.stderr
    plan = forked_cli(
        "run",
        str(repo / "rf"),
        *SMALL,
        "--dry-run",
        "--json",
        tracking_uri=tracking_uri,
        cwd=tmp_path,
    )
    planned = json_of(plan)
    assert planned["source"]["dirty"] is True and len(planned["source"]["diff_digest"]) == 64
    assert not database.exists()
