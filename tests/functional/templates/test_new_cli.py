"""``mlharness new`` as a user runs it: a real subprocess of the installed console script."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.paths import MLHARNESS

pytestmark = pytest.mark.functional


def _new(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MLHARNESS, "new", *args], capture_output=True, text=True, check=False, timeout=120
    )


def test_new_creates_a_project_and_reports_it_as_json(
    cookiecutter_home: Path, tmp_path: Path
) -> None:
    done = _new(
        "--no-input",
        "--set",
        "project_name=Cli Made",
        "--set",
        "task=regression",
        "-o",
        str(tmp_path),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    project = tmp_path / "cli_made"
    assert report["project_dir"] == str(project)
    assert report["context"]["task"] == "regression"
    assert report["dry_run"] is False
    assert "load_diabetes" in (project / "cli_made" / "data.py").read_text()

    again = _new("--no-input", "--set", "project_name=Cli Made", "-o", str(tmp_path))
    assert again.returncode == 2
    assert again.stderr.startswith(f"error: output directory {project} already exists")
    assert again.stderr.count("\n") == 1

    replaced = _new(
        "--no-input", "--set", "project_name=Cli Made", "-o", str(tmp_path), "--overwrite"
    )
    assert replaced.returncode == 0, replaced.stderr
    assert "load_breast_cancer" in (project / "cli_made" / "data.py").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--set", "project_name"],
            "error: --set 'project_name' is not KEY=VALUE",
        ),
        (["--set", "colour=blue"], "error: invalid template options: --set colour: unknown option"),
        (
            ["--set", "project_slug=not-valid"],
            "error: invalid template options: project_slug "
            "'not-valid' is not a valid Python identifier",
        ),
        (
            ["--set", "model_family=xgboost"],
            "error: invalid template options: --set model_family=xgboost: not a choice",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    args: list[str], message: str, cookiecutter_home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = _new("--no-input", *args, "-o", str(out))
    assert done.returncode == 2
    assert done.stderr.startswith(message), done.stderr
    assert done.stderr.count("\n") == 1
    assert not out.exists()


def test_dry_run_prints_the_plan_and_writes_nothing(
    cookiecutter_home: Path, tmp_path: Path
) -> None:
    done = _new("--no-input", "-o", str(tmp_path / "out"), "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["dry_run"] is True
    assert plan["project_dir"] == str(tmp_path / "out" / "my_model")
    assert "MLproject" in plan["files"]
    assert not (tmp_path / "out").exists()
