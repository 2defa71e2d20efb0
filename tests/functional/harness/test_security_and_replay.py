"""Shell injection, Ctrl-C, refused manifests, replay and tolerances, on a tiny project.

Each ``mlharness`` command is its own process forked from one that imported the CLI once
(``forked_cli``, tests/functional/harness/conftest.py); the Ctrl-C test keeps a cold
``mlharness`` process, since the signal reaching a real console-script process is its point.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from harness.schemas.manifest import digest
from tests.functional.harness.conftest import Forked
from tests.support.git_servers import make_repo
from tests.support.harness_cli import TINY, all_runs, json_of, manifest_of
from tests.support.mlflow_cli import cli_env
from tests.support.paths import MLHARNESS

pytestmark = pytest.mark.functional
LOCAL = ["--env-manager", "local"]


@pytest.fixture
def tiny_repo(tmp_path: Path) -> Path:
    """A git repo holding a copy of the tiny project; returns the project dir."""
    make_repo(tmp_path / "repo", {"tiny": TINY})
    return tmp_path / "repo" / "tiny"


def _pwned(*dirs: Path) -> list[Path]:
    return [p for d in dirs for p in d.rglob("pwned*")]


def test_parameter_values_never_reach_a_shell(
    tracking_uri: str, tmp_path: Path, tiny_repo: Path, forked_cli: Forked
) -> None:
    # path: a file whose name is an attack exists, so it passes validation and is run.
    (tmp_path / "$(touch pwned2)").write_text("data")
    string_attacks = {"s": "$(touch pwned1)", "t": "x; touch pwned3 `touch pwned4` && touch pwned5"}
    # string and path: MLflow single-quotes the values; the run goes ahead, harmlessly.
    done = forked_cli(
        "run",
        str(tiny_repo),
        *LOCAL,
        "-P",
        f"s={string_attacks['s']}",
        "-P",
        f"t={string_attacks['t']}",
        "-P",
        "p=$(touch pwned2)",
        "--json",
        tracking_uri=tracking_uri,
        cwd=tmp_path,
    )
    run_id = json_of(done)["run_id"]
    echoed = MlflowClient(tracking_uri).download_artifacts(run_id, "echo.txt", str(tmp_path))
    for value in string_attacks.values():
        assert repr(value) in Path(echoed).read_text()
    # int and float: refused by validation before anything runs, both reported.
    refused = forked_cli(
        "run",
        str(tiny_repo),
        *LOCAL,
        "-P",
        "i=1; touch pwned6",
        "-P",
        "f=$(touch pwned7)",
        tracking_uri=tracking_uri,
        cwd=tmp_path,
    )
    assert refused.returncode == 2, refused.output
    assert "i: '1; touch pwned6' is not an int" in refused.stderr
    assert "f: '$(touch pwned7)' is not a float" in refused.stderr
    # A double-quoted placeholder: bash would expand $(...) there, so the harness refuses.
    quoted = forked_cli(
        "run",
        str(tiny_repo),
        "-e",
        "quoted",
        *LOCAL,
        "-P",
        "s=$(touch pwned8)",
        tracking_uri=tracking_uri,
        cwd=tmp_path,
    )
    assert quoted.returncode == 2 and "double-quoted placeholder" in quoted.stderr
    assert _pwned(tmp_path, tiny_repo) == []
    assert len(all_runs(tracking_uri)) == 1


def test_ctrl_c_ends_the_run_as_killed(tracking_uri: str, tmp_path: Path, tiny_repo: Path) -> None:
    process = subprocess.Popen(
        [MLHARNESS, "run", str(tiny_repo), "-e", "sleep", *LOCAL, "--tracking-uri", tracking_uri],
        cwd=tmp_path,
        env=cli_env(tracking_uri),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        seen = []
        for line in process.stderr:  # the entry point says so once it runs (readiness)
            seen.append(line)
            if "entry point sleeping" in line:
                break
        assert seen and "entry point sleeping" in seen[-1], "".join(seen)
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=60)
        stderr = "".join(seen) + rest
    finally:
        process.kill()
    assert process.returncode == 1, stderr
    assert "marked KILLED" in stderr
    (run,) = all_runs(tracking_uri)
    assert run.info.status == "KILLED"
    assert "mlharness.manifest_digest" in run.data.tags


def test_replay_verify_tolerances_and_refused_manifests(
    tracking_uri: str, tmp_path: Path, tiny_repo: Path, forked_cli: Forked
) -> None:
    noisy = json_of(
        forked_cli(
            "run",
            str(tiny_repo),
            "-e",
            "noisy",
            *LOCAL,
            "--json",
            tracking_uri=tracking_uri,
            cwd=tmp_path,
        )
    )["run_id"]
    # The metric is random: verify must see the difference, and a tolerance may accept it.
    differs = forked_cli("verify", noisy, tracking_uri=tracking_uri, cwd=tmp_path)
    assert differs.returncode == 1, differs.output
    assert "differs" in differs.stdout and "value(s) differ" in differs.stdout
    tolerated = forked_cli(
        "verify", noisy, "--rtol", "value=1e9", "--json", tracking_uri=tracking_uri, cwd=tmp_path
    )
    report = json_of(tolerated)
    assert tolerated.returncode == 0 and report["identical"], tolerated.output
    assert [r["status"] for r in report["rows"] if r["name"] == "value"] == ["within rtol"]
    bad_rtol = forked_cli(
        "verify", noisy, "--rtol", "nosuch=0.1", tracking_uri=tracking_uri, cwd=tmp_path
    )
    assert bad_rtol.returncode == 2 and "unknown metric 'nosuch'" in bad_rtol.stderr

    runs_before = len(all_runs(tracking_uri))
    for command in ("replay", "verify"):
        planned = forked_cli(
            command, noisy, "--dry-run", "--json", tracking_uri=tracking_uri, cwd=tmp_path
        )
        assert json_of(planned)["run_spec"]["entry_point"] == "noisy"
    assert len(all_runs(tracking_uri)) == runs_before
    replayed = forked_cli("replay", noisy, "--json", tracking_uri=tracking_uri, cwd=tmp_path)
    assert json_of(replayed)["replay_of"] == noisy
    runs_before = len(all_runs(tracking_uri))

    # Edited by hand: the digest tag no longer matches, so replay and verify refuse.
    client = MlflowClient(tracking_uri)
    doc = manifest_of(tracking_uri, noisy, tmp_path / "m")
    doc["metrics"]["value"] = 0.5
    edited = tmp_path / "edit" / "manifest.json"
    edited.parent.mkdir()
    edited.write_text(json.dumps(doc))
    client.log_artifact(noisy, str(edited), "mlharness")
    for command in ("replay", "verify"):
        refused = forked_cli(command, noisy, tracking_uri=tracking_uri, cwd=tmp_path)
        assert refused.returncode == 2, refused.output
        assert "edited after the run" in refused.stderr
    # A newer schema is refused even when its digest matches.
    doc["schema_version"] = 2
    edited.write_text(json.dumps(doc))
    client.log_artifact(noisy, str(edited), "mlharness")
    client.set_tag(noisy, "mlharness.manifest_digest", digest(doc))
    newer = forked_cli("verify", noisy, tracking_uri=tracking_uri, cwd=tmp_path)
    assert newer.returncode == 2 and "schema_version 2 is newer" in newer.stderr
    assert len(all_runs(tracking_uri)) == runs_before
