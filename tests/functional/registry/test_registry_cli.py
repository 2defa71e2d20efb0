"""``mlharness registry ...`` as real processes: exit codes, tables, JSON, nothing changed
on failure or with --dry-run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient

from harness.store.registry import Registry
from registry_tools import versions
from tests.functional.registry.conftest import (
    Regressors,
    Trained,
    registry_cli,
    registry_state,
    two_versions,
)
from tests.support.harness_cli import mlharness
from tests.support.mlflow_cli import CliResult
from tests.support.servers import free_port
from tests.support.stores import fresh_store_uri

pytestmark = [pytest.mark.functional, pytest.mark.xdist_group("registry-functional")]


def _ok(result: CliResult) -> dict[str, object]:
    assert result.returncode == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def _error_line(result: CliResult) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_register_list_show(trained: Trained, model_name: str) -> None:
    first = _ok(
        registry_cli(
            trained,
            "register",
            trained.weak,
            "--name",
            model_name,
            "--tag",
            "team=a",
            "--description",
            "weak one",
            "--alias",
            "champion",
            "--json",
        )
    )
    assert first["created"] is True
    version = first["version"]
    assert isinstance(version, dict) and version["status"] == "READY"
    assert version["aliases"] == ["champion"] and version["tags"]["team"] == "a"
    again = _ok(
        registry_cli(
            trained, "register", f"runs:/{trained.weak}/model", "--name", model_name, "--json"
        )
    )
    assert again["created"] is False and again["version"]["version"] == "1"  # type: ignore[index]

    listed = _ok(registry_cli(trained, "list", "--json"))
    mine = [m for m in listed if m["name"] == model_name]  # type: ignore[attr-defined,index]
    assert mine == [
        {
            "name": model_name,
            "versions": 1,
            "latest": "1",
            "aliases": {"champion": "1"},
            "description": "",
            "updated": mine[0]["updated"],
        }
    ]
    table = registry_cli(trained, "list")
    assert table.returncode == 0 and model_name in table.stdout and "champion=v1" in table.stdout

    shown = _ok(registry_cli(trained, "show", model_name, "--json"))
    row = shown["versions"][0]  # type: ignore[index]
    assert row["run_id"] == trained.weak and row["params"]["max_depth"] == "2"
    assert set(row["metrics"]) >= {"accuracy", "f1", "roc_auc", "log_loss"}
    assert shown["audit"][0]["action"] == "set"  # type: ignore[index]
    detail = registry_cli(trained, "show", model_name, "--version", "1")
    assert detail.returncode == 0, detail.output
    for needle in (
        "metric accuracy",
        "param n_estimators",
        "dataset breast_cancer_train",
        "tag team",
        "weak one",
        "manifest",
    ):
        assert needle in detail.stdout, needle


def test_tags_describe_aliases_and_their_dry_runs(trained: Trained, model_name: str) -> None:
    registry = two_versions(trained, model_name)
    uri = trained.tracking_uri
    changes = [
        ("tag", "set", model_name, "1", "owner=ml", "stage=x"),
        ("tag", "rm", model_name, "1", "mlharness.champion.user"),
        ("describe", model_name, "the weak one", "--version", "1"),
        ("describe", model_name, "the family"),
        ("alias", "set", model_name, "champion", "2"),
        ("alias", "rm", model_name, "challenger"),
    ]
    for change in changes:
        before = registry_state(uri)
        planned = registry_cli(trained, *change, "--dry-run")  # every change, not every kind
        assert planned.returncode == 0 and planned.stdout.startswith("would "), planned.output
        assert registry_state(uri) == before, change
        _ok(registry_cli(trained, *change, "--json"))
        assert registry_state(uri) != before, change
    info = versions.get(registry, model_name, "1")
    assert info.tags["owner"] == "ml" and "mlharness.champion.user" not in info.tags
    assert info.description == "the weak one"
    assert registry.get_model(model_name).description == "the family"
    assert registry.holder(model_name, "champion") == "2"
    assert registry.holder(model_name, "challenger") is None


def test_promote_fail_dry_run_pass_rollback(trained: Trained, model_name: str) -> None:
    registry = two_versions(trained, model_name)
    uri = trained.tracking_uri
    promote = ["promote", model_name, "--from", "challenger", "--to", "champion"]
    before = registry_state(uri)

    failed = registry_cli(trained, *promote, "--gate", "accuracy>=0.5", "--gate", "accuracy>=1.5")
    assert failed.returncode == 3
    assert "FAIL" in failed.stdout and "pass" in failed.stdout  # every gate in the table
    line = _error_line(failed)
    assert "1 of 2 gate(s) failed: accuracy>=1.5" in line and "nothing changed" in line
    assert registry_state(uri) == before

    gates = ["--gate", "accuracy >= 0.5", "--gate", "log_loss<=champion.log_loss"]
    planned = registry_cli(trained, *promote, *gates, "--dry-run")
    assert planned.returncode == 0 and "would move champion" in planned.stdout, planned.output
    assert registry_state(uri) == before

    done = _ok(registry_cli(trained, *promote, *gates, "--json"))
    assert done["applied"] is True and done["current"] == "1" and done["candidate"] == "2"
    assert registry.holder(model_name, "champion") == "2"
    tags = versions.get(registry, model_name, "2").tags
    assert tags["mlharness.champion.previous"] == "1"
    assert [g["gate"] for g in json.loads(tags["mlharness.champion.gates"])] == [
        "accuracy>=0.5",
        "log_loss<=champion.log_loss",
    ]
    assert tags["mlharness.champion.time"] and tags["mlharness.champion.user"]

    after_promotion = registry_state(uri)
    planned = registry_cli(trained, "rollback", model_name, "--alias", "champion", "--dry-run")
    assert planned.returncode == 0 and "would roll back champion" in planned.stdout
    assert registry_state(uri) == after_promotion
    rolled = _ok(registry_cli(trained, "rollback", model_name, "--alias", "champion", "--json"))
    assert rolled["target"] == "1" and registry.holder(model_name, "champion") == "1"


def test_promote_with_evaluate_scores_both_on_the_same_data(
    trained: Trained, model_name: str
) -> None:
    registry = two_versions(trained, model_name)
    done = _ok(
        registry_cli(
            trained,
            "promote",
            model_name,
            "--from",
            "challenger",
            "--to",
            "champion",
            "--gate",
            "accuracy>=0.5",
            "--gate",
            "roc_auc>=champion.roc_auc",
            "--evaluate",
            str(trained.test_csv),
            "--json",
        )
    )
    evaluation = done["evaluation"]
    assert isinstance(evaluation, dict) and set(evaluation) == {"1", "2"}
    client = MlflowClient(trained.tracking_uri)
    for version, run_id in evaluation.items():
        run = client.get_run(run_id)
        assert run.data.tags["mlharness.evaluation_of"] == f"{model_name}/{version}"
        assert "accuracy_score" in run.data.metrics
    # test.csv is the held-out split both runs were scored on, so evaluate reproduces it.
    strong = client.get_run(trained.strong).data.metrics
    weak = client.get_run(trained.weak).data.metrics
    gates = done["gates"]
    assert gates[0]["candidate"] == pytest.approx(strong["accuracy"])  # type: ignore[index]
    assert gates[1]["reference"] == pytest.approx(weak["roc_auc"])  # type: ignore[index]
    assert registry.holder(model_name, "champion") == "2"
    record = json.loads(registry.get_model(model_name).tags["mlharness.audit.champion.000002"])
    assert record["evaluation"] == evaluation


def test_stage_options_map_to_aliases_and_a_tag(trained: Trained, model_name: str) -> None:
    registry = Registry(trained.tracking_uri)
    staged = registry_cli(trained, "register", trained.weak, "-n", model_name, "--stage", "Staging")
    assert staged.returncode == 0, staged.output
    assert staged.stderr.count("note: model stages are deprecated in MLflow") == 1
    assert registry.holder(model_name, "staging") == "1"
    archived = registry_cli(
        trained, "register", trained.strong, "-n", model_name, "--stage", "archived"
    )
    assert archived.returncode == 0, archived.output
    assert versions.get(registry, model_name, "2").tags["archived"] == "true"
    promoted = registry_cli(
        trained,
        "promote",
        model_name,
        "--version",
        "1",
        "--stage",
        "Production",
        "--gate",
        "accuracy>=0.5",
    )
    assert promoted.returncode == 0, promoted.output
    assert "mapped to alias 'production'" in promoted.stderr
    assert registry.holder(model_name, "production") == "1"
    shown = _ok(registry_cli(trained, "show", model_name, "--stage", "Production", "--json"))
    assert [v["version"]["version"] for v in shown["versions"]] == ["1"]  # type: ignore[index]
    assert shown["versions"][0]["version"]["stage"] == "Production"  # type: ignore[index]


PROMOTE = ["promote", "{m}", "--from", "challenger", "--to", "champion"]


@pytest.fixture(scope="module")
def prepared(trained: Trained) -> str:
    name = "rf-bad-input"
    two_versions(trained, name)
    return name


@pytest.mark.parametrize(
    "args,code,needle",
    [
        (["show", "nope-model"], 2, "Registered Model with name=nope-model not found"),
        (["alias", "set", "{m}", "champion", "99"], 2, "(name={m}, version=99) not found"),
        (
            [*PROMOTE[:2], "--from", "nope", "--to", "champion", "--gate", "f1>=0"],
            2,
            "model '{m}' has no alias 'nope'",
        ),
        (
            [*PROMOTE, "--gate", "f1>=>0"],
            2,
            "malformed gate 'f1>=>0': expected a number or ALIAS.METRIC at column 5",
        ),
        ([*PROMOTE, "--gate", "f1>=champion.auc"], 2, "metric 'auc' missing on version 1"),
        (
            [
                *PROMOTE[:2],
                "--version",
                "2",
                "--to",
                "champion",
                "--gate",
                "f1>=0",
                "--expect-version",
                "2",
            ],
            1,
            "is held by version 1, not version 2",
        ),
        (["rollback", "{m}", "--alias", "challenger"], 2, "no earlier holder"),
        (
            [*PROMOTE, "--gate", "f1>=0", "--evaluate", "missing.csv"],
            2,
            "--evaluate missing.csv: not a file",
        ),
        (["tag", "set", "{m}", "1", "novalue"], 2, "tag 'novalue' is not KEY=VALUE"),
        (
            [*PROMOTE[:2], "--version", "2", "--stage", "Archived", "--gate", "f1>=0"],
            2,
            "stage Archived is not an alias",
        ),
    ],
)
def test_bad_input_one_line_exit_code_nothing_changed(
    trained: Trained, prepared: str, args: list[str], code: int, needle: str
) -> None:
    before = registry_state(trained.tracking_uri)
    result = registry_cli(trained, *(a.replace("{m}", prepared) for a in args))
    assert result.returncode == code, result.output
    assert needle.replace("{m}", prepared) in _error_line(result)
    assert registry_state(trained.tracking_uri) == before


def test_tracking_uri_option_wins_over_the_environment(
    trained: Trained, model_name: str, tmp_path: Path
) -> None:
    """MLFLOW_TRACKING_URI names an empty store; ``--tracking-uri`` the one with the model."""
    registry = two_versions(trained, model_name)
    other = fresh_store_uri(tmp_path / "other.db")
    right = ["--tracking-uri", trained.tracking_uri]

    def cli(*args: str) -> CliResult:
        return registry_cli(trained, *args, uri=other, cwd=tmp_path)

    moved = _ok(cli("alias", "set", model_name, "champion", "2", *right, "--json"))
    assert moved["changed"] is True and moved["previous"] == "1"
    assert registry.holder(model_name, "champion") == "2"
    shown = _ok(cli("show", model_name, "--version", "2", *right, "--json"))
    assert "champion" in shown["versions"][0]["version"]["aliases"]  # type: ignore[index]
    assert registry_state(other) == {}  # nothing read from or written to the other store


def test_unreachable_store_fails_with_exit_5(trained: Trained, tmp_path: Path) -> None:
    """A closed port on 127.0.0.1: one error line, exit 5, after the boundary's retries.

    (The environment names a working store, so ignoring ``--tracking-uri`` would pass
    with exit 0. How fast it fails is measured in bench/, not asserted here.)
    """
    closed = f"http://127.0.0.1:{free_port()}"
    result = mlharness(
        "registry",
        "list",
        "--tracking-uri",
        closed,
        tracking_uri=trained.tracking_uri,
        cwd=tmp_path,
        timeout=60,  # generous for a loaded machine; MLflow's default retries take minutes
    )
    assert result.returncode == 5, result.output
    line = _error_line(result)
    assert "unreachable" in line and closed in line


def test_tables_show_no_none_and_the_commit_mlflow_recorded(
    trained: Trained, model_name: str
) -> None:
    """Plain ``mlflow run`` has no manifest, but MLflow recorded its git commit."""
    two_versions(trained, model_name)
    commit = (
        MlflowClient(trained.tracking_uri)
        .get_run(trained.weak)
        .data.tags.get("mlflow.source.git.commit")
    )
    assert commit, "mlflow run of a project in a git checkout records its commit"
    shown = _ok(registry_cli(trained, "show", model_name, "--json"))
    rows = {row["version"]["version"]: row for row in shown["versions"]}  # type: ignore[attr-defined,index]
    assert rows["1"]["manifest"] is None and rows["1"]["commit"] == commit
    assert rows["2"]["commit"] == rows["2"]["manifest"]["commit"]
    assert rows["1"]["version"]["stage"] is None
    table = registry_cli(trained, "show", model_name)
    assert table.returncode == 0, table.output
    assert commit[:12] in table.stdout and "None" not in table.stdout
    detail = registry_cli(trained, "show", model_name, "--version", "1")
    assert detail.returncode == 0, detail.output
    assert commit in detail.stdout and "None" not in detail.stdout


def test_promote_evaluate_scores_a_regressor_as_a_regressor(
    trained: Trained, regressors: Regressors, model_name: str
) -> None:
    """The defect: ``--evaluate`` scored every model as a classifier, so a regression model
    failed with "Classification metrics can't handle a mix of ... continuous targets"."""
    registry = Registry(trained.tracking_uri)
    versions.register(registry, regressors.weak, model_name, alias="champion")
    versions.register(registry, regressors.strong, model_name)
    done = registry_cli(
        trained,
        "promote",
        model_name,
        "--version",
        "2",
        "--to",
        "champion",
        "--gate",
        "rmse<=champion.rmse",
        "--gate",
        "r2>=0.9",
        "--evaluate",
        str(regressors.csv),
        "--json",
    )
    data = _ok(done)
    assert data["applied"] is True and registry.holder(model_name, "champion") == "2"
    gates = {g["gate"]: g for g in data["gates"]}  # type: ignore[attr-defined]
    assert (
        gates["rmse<=champion.rmse"]["candidate"] < 0.5 < gates["rmse<=champion.rmse"]["reference"]
    )
    client = MlflowClient(trained.tracking_uri)
    for run_id in data["evaluation"].values():  # type: ignore[attr-defined]
        run = client.get_run(run_id)
        assert run.data.tags["mlharness.evaluation_model_type"] == "regressor"
        assert "root_mean_squared_error" in run.data.metrics
