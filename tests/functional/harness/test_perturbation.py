"""``verify --perturb``: the reproducibility table of a real run of projects/rf, and of a
run that is not reproducible (tiny's ``noisy`` entry point), end to end.

Each ``mlharness`` command is its own process forked from one that imported the CLI once
(``forked_cli``, tests/functional/harness/conftest.py); the entry points they launch (the
original runs and every perturbed replay) are cold processes started by MLflow.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.functional.harness.conftest import Forked, RecordedRf
from tests.support.git_servers import make_repo
from tests.support.harness_cli import TINY, json_of

pytestmark = [pytest.mark.functional, pytest.mark.slow]
LOCAL = ["--env-manager", "local"]


def test_rf_is_identical_under_threads_hashseed_and_row_order(
    recorded_rf: RecordedRf, tmp_path: Path, forked_cli: Forked
) -> None:
    # `mlharness run` of projects/rf (n_estimators=5, local) in a git repo: tests/functional/
    # harness/conftest.py records it once per session; this test has its own store copy.
    tracking_uri, repo, run_id = recorded_rf.tracking_uri, recorded_rf.repo, recorded_rf.run_id

    checked = forked_cli("verify", run_id, "--perturb", "threads,hashseed,order", "--json",
                         tracking_uri=tracking_uri, cwd=tmp_path)  # fmt: skip
    assert checked.returncode == 0, checked.output[-3000:]
    table = json_of(checked)
    assert table["reproducible"] is True and table["identical"] is True
    assert table["perturbations"][0] == "threads=1"
    assert [p.split("=")[0] for p in table["perturbations"]] == ["threads", "threads", "hashseed"]
    rows = {(row["section"], row["name"]): row for row in table["rows"]}
    assert {"accuracy", "roc_auc", "log_loss", "f1"} <= {name for _, name in rows}
    assert ("outputs", "plots/confusion_matrix.png") in rows
    assert all(row["status"] == "identical" and not row["broken_by"] for row in rows.values())
    # main splits the data itself: it does not declare row order safe, and says so.
    assert any(note.startswith("order: entry point 'main'") for note in table["notes"])
    client = MlflowClient(tracking_uri)
    for label, replay_id in table["replay_run_ids"].items():
        replay = client.get_run(replay_id)
        assert replay.data.tags["mlharness.perturbation"] == label
        assert replay.data.tags["mlharness.replay_of"] == run_id
    threads = client.get_run(table["replay_run_ids"]["threads=1"])
    assert threads.data.tags["mlharness.perturbation"] == "threads=1"

    # evaluate declares row order safe: its CSV is shuffled, the metrics stay put.
    csv = Path(client.download_artifacts(run_id, "data/test.csv", str(tmp_path)))
    scored = forked_cli("run", str(repo / "rf"), "-e", "evaluate",
                        "-P", f"model_uri=runs:/{run_id}/model", "-P", f"data={csv}",
                        *LOCAL, "--json", tracking_uri=tracking_uri, cwd=tmp_path)  # fmt: skip
    eval_id = json_of(scored)["run_id"]
    shuffled = forked_cli("verify", eval_id, "--perturb", "order", "--rtol", "log_loss=1e-12",
                          "--json", tracking_uri=tracking_uri, cwd=tmp_path)  # fmt: skip
    assert shuffled.returncode == 0, shuffled.output[-3000:]
    table = json_of(shuffled)
    assert table["perturbations"] == ["order"] and not table["notes"]
    statuses = {row["name"]: row["status"] for row in table["rows"]}
    assert statuses["accuracy"] == statuses["roc_auc"] == "identical"
    assert statuses["log_loss"] in {"identical", "within rtol"}
    order_run = client.get_run(table["replay_run_ids"]["order"])
    assert order_run.data.params["data"] != str(csv)  # it read the shuffled copy


def test_a_metric_that_moves_is_divergent_with_the_perturbation_that_broke_it(
    tracking_uri: str, tmp_path: Path, forked_cli: Forked
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"tiny": TINY})
    noisy = forked_cli("run", str(repo / "tiny"), "-e", "noisy", *LOCAL, "--json",
                       tracking_uri=tracking_uri, cwd=tmp_path)  # fmt: skip
    run_id = json_of(noisy)["run_id"]
    checked = forked_cli("verify", run_id, "--perturb", "hashseed", "--json",
                         tracking_uri=tracking_uri, cwd=tmp_path)  # fmt: skip
    assert checked.returncode == 1, checked.output[-3000:]
    table = json_of(checked)
    (value,) = [row for row in table["rows"] if row["name"] == "value"]
    assert value["status"] == "divergent" and value["broken_by"] == ["hashseed=12345"]
    text = forked_cli("verify", run_id, "--perturb", "hashseed", "--rtol", "value=10",
                      tracking_uri=tracking_uri, cwd=tmp_path)  # fmt: skip
    assert text.returncode == 0, text.output[-3000:]
    assert "within rtol" in text.stdout and "reproducible" in text.stdout

    bad = forked_cli("verify", run_id, "--perturb", "threads,moon",
                     tracking_uri=tracking_uri, cwd=tmp_path)  # fmt: skip
    assert bad.returncode == 2 and "unknown perturbation 'moon'" in bad.stderr
    assert "Traceback" not in bad.stderr
