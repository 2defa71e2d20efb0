"""State mlharness stores in MLflow tags is read back through its schema: a corrupt, foreign
or newer tag is one line naming the run (or model) and the tag, exit 2, never a traceback.

Each store is set up with ``MlflowClient`` directly (the tags are what a hand edit, another
tool or a newer mlharness would leave); the command is the real CLI in its own process, a
fork of one that imported the CLI and MLflow once for the module
(``tests/support/store_cli_forks.py``), so a command costs what it does, not ~4.5 s of imports.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.support.mlflow_cli import CliResult
from tests.support.store_cli_forks import Command, ForkedCli

pytestmark = pytest.mark.functional

GOOD_DEFINITION = {
    "project": "/nowhere/steps",
    "entry_point": "main",
    "space": [["x", "1,3"]],
    "strategy": "grid",
    "trials": 2,
    "seed": 0,
    "metric": None,
    "mode": "max",
    "env_manager": "local",
    "experiment_name": None,
    "version": None,
    "jobs": 1,
    "cluster": None,
    "fail_fast": False,
    "force": False,
    "schema": 1,
}
GOOD_TRIAL = {"index": 0, "params": {"x": "1"}, "status": "FINISHED", "run_id": "abc"}


@pytest.fixture(scope="module")
def forks() -> Iterator[ForkedCli]:
    with ForkedCli() as zygote:
        assert zygote.import_output == ""  # a cold command prints nothing before its line
        yield zygote


def _one_line_exit_2(result: CliResult, *needles: str) -> None:
    assert result.returncode == 2, result.output
    assert "Traceback" not in result.output, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def _parent(client: MlflowClient, tags: dict[str, str]) -> str:
    return str(client.create_run("0", tags=tags).info.run_id)


# (definition tag, trial 0 tag or None, the tag named, a word of the problem)
SWEEP_CASES = {
    "definition-not-json": ("{not json", None, "mlharness.sweep.definition", "not JSON"),
    "definition-foreign-key": (
        json.dumps({**GOOD_DEFINITION, "colour": "blue"}),
        None,
        "mlharness.sweep.definition",
        "colour",
    ),
    "definition-newer": (
        json.dumps({**GOOD_DEFINITION, "schema": 2}),
        None,
        "mlharness.sweep.definition",
        "schema",
    ),
    "trial-status": (
        json.dumps(GOOD_DEFINITION),
        json.dumps({**GOOD_TRIAL, "status": "EXPLODED"}),
        "mlharness.sweep.trial.0000",
        "status",
    ),
    "trial-missing-index": (
        json.dumps(GOOD_DEFINITION),
        json.dumps({"params": {"x": "1"}}),
        "mlharness.sweep.trial.0000",
        "index",
    ),
    "trial-wrong-index": (
        json.dumps(GOOD_DEFINITION),
        json.dumps({**GOOD_TRIAL, "index": 1}),
        "mlharness.sweep.trial.0000",
        "index",
    ),
}


def _each(
    forks: ForkedCli, calls: dict[str, list[str]], uri: str, cwd: Path
) -> dict[str, CliResult]:
    """Run the commands three at a time, each in its own (forked) process."""
    commands = [Command(args, cwd, tracking_uri=uri) for args in calls.values()]
    return dict(zip(calls, forks.run_many(commands), strict=True))


def test_a_corrupt_sweep_tag_is_one_line_naming_run_and_tag(
    forks: ForkedCli, tracking_uri: str, tmp_path: Path
) -> None:
    client = MlflowClient(tracking_uri)
    parents: dict[str, str] = {}
    for name, (definition, trial, _, _) in SWEEP_CASES.items():
        tags = {"mlharness.sweep.definition": definition}
        if trial is not None:
            tags["mlharness.sweep.trial.0000"] = trial
        parents[name] = _parent(client, tags)
    calls = {
        name: ["sweep", "--resume", parent, "--tracking-uri", tracking_uri]
        for name, parent in parents.items()
    }
    for name, result in _each(forks, calls, tracking_uri, tmp_path).items():
        _, _, tag, problem = SWEEP_CASES[name]
        _one_line_exit_2(result, parents[name], tag, problem)


def test_a_corrupt_audit_tag_is_one_line_naming_model_and_tag(
    forks: ForkedCli, tracking_uri: str, tmp_path: Path
) -> None:
    client = MlflowClient(tracking_uri)
    tag = "mlharness.audit.champion.000001"
    records = {
        "not-json": "{not json",
        "foreign": json.dumps(
            {
                "seq": 1,
                "alias": "champion",
                "action": "promote",
                "version": "1",
                "previous": None,
                "time": "t",
                "user": "u",
                "gates": [],
                "evaluation": None,
                "signed_by": "someone else",
            }
        ),
        "wrong-types": json.dumps({"seq": "first", "alias": "champion", "action": "steal"}),
    }
    for name, text in records.items():
        client.create_registered_model(f"audit-{name}", tags={tag: text})
    calls = {
        f"show-{name}": ["registry", "show", f"audit-{name}", "--tracking-uri", tracking_uri]
        for name in records
    }
    calls["rollback"] = ["registry", "rollback", "audit-not-json", "--alias", "champion"]
    calls["rollback"] += ["--tracking-uri", tracking_uri]
    results = _each(forks, calls, tracking_uri, tmp_path)
    for call, result in results.items():
        model = "not-json" if call == "rollback" else call.removeprefix("show-")
        _one_line_exit_2(result, f"'audit-{model}'", tag)
    # every problem at once
    wrong = results["show-wrong-types"].stderr
    assert all(word in wrong for word in ("seq", "action", "version", "time", "user")), wrong


def _manifest(**change: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "schema_version": 1,
        "source": {
            "uri": "/src",
            "commit": None,
            "subdir": "",
            "version": None,
            "dirty": False,
            "diff_digest": None,
        },
        "run_spec": {
            "entry_point": "main",
            "parameters": {"data": "s3://bucket/x.csv"},
            "env_manager": "local",
            "experiment_name": None,
            "run_name": None,
        },
        "environment": {
            "python": "3.11.7",
            "platform": "linux",
            "env_manager": "local",
            "lock_digest": "l",
            "pip_freeze": [],
            "variables": {},
        },
        "inputs": {"data": {"value": "s3://bucket/x.csv", "digest": None}},
        "outputs": {},
        "metrics": {"accuracy": 0.9},
        "seeds": {},
        "timings": {"started": "a", "finished": "b", "duration_s": 1.0},
        "cache_key": "k",
    }
    doc.update(change)
    return doc


def test_a_corrupt_manifest_or_digest_tag_is_one_line_naming_run_and_tag(
    forks: ForkedCli, tracking_uri: str, tmp_path: Path
) -> None:
    from harness.schemas.manifest import digest

    client = MlflowClient(tracking_uri)
    good = _manifest()
    cases: dict[str, tuple[str, str | None, str]] = {
        # manifest text, digest tag, a word of the problem
        "edited": (json.dumps(_manifest(metrics={"accuracy": 0.99})), digest(good), "edited"),
        "not-json": ("{not json", "abc", "not JSON"),
        "foreign": (json.dumps(_manifest(signed_by="x")), digest(good), "signed_by"),
        "no-tag": (json.dumps(good), None, "mlharness.manifest_digest"),
    }
    runs: dict[str, str] = {}
    for name, (text, tag, _) in cases.items():
        run_id = str(client.create_run("0").info.run_id)
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text(text)
        client.log_artifact(run_id, str(tmp_path / name / "manifest.json"), "mlharness")
        if tag is not None:
            client.set_tag(run_id, "mlharness.manifest_digest", tag)
        client.set_terminated(run_id)
        client.create_registered_model(f"lineage-{name}")
        client.create_model_version(f"lineage-{name}", f"runs:/{run_id}/model", run_id=run_id)
        runs[name] = run_id
    # An intact manifest shows, with the remote input's digest as missing, not "None".
    intact = str(client.create_run("0").info.run_id)
    (tmp_path / "intact").mkdir()
    (tmp_path / "intact" / "manifest.json").write_text(json.dumps(good))
    client.log_artifact(intact, str(tmp_path / "intact" / "manifest.json"), "mlharness")
    client.set_tag(intact, "mlharness.manifest_digest", digest(good))
    client.create_registered_model("lineage-intact")
    client.create_model_version("lineage-intact", f"runs:/{intact}/model", run_id=intact)

    calls = {
        name: ["registry", "show", f"lineage-{name}", "--tracking-uri", tracking_uri]
        for name in [*cases, "intact"]
    }
    calls["intact-json"] = [*calls["intact"], "--json"]
    results = _each(forks, calls, tracking_uri, tmp_path)
    for name, (_, _, problem) in cases.items():
        _one_line_exit_2(results[name], f"run {runs[name]}", "mlharness.manifest_digest", problem)
    assert results["intact"].returncode == 0, results["intact"].output
    assert "None" not in results["intact"].stdout
    shown = json.loads(results["intact-json"].stdout)
    text = json.dumps(shown)
    assert '"data": null' in text and '"None"' not in text, text
