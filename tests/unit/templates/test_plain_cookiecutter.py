"""The template works with plain ``cookiecutter`` too, and its hooks guard it there."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.paths import VENV_BIN
from tests.support.templates import TEMPLATE

COOKIECUTTER = str(VENV_BIN / "cookiecutter")


def _cookiecutter(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COOKIECUTTER, *args], capture_output=True, text=True, check=False, timeout=120
    )


def test_plain_cookiecutter_renders_a_project(cookiecutter_home: Path, tmp_path: Path) -> None:
    done = _cookiecutter("--no-input", str(TEMPLATE), "-o", str(tmp_path), "project_name=Plain CC")
    assert done.returncode == 0, done.stderr
    project = tmp_path / "plain_cc"
    assert (project / "MLproject").is_file()
    assert (project / "plain_cc" / "model.py").is_file()
    assert not (project / "plain_cc" / "_families").exists()
    assert json.loads((project / ".mlharness-template.json").read_text())["name"] == (
        "mlflow-project"
    )


def test_the_pre_gen_hook_stops_a_bad_slug_before_anything_is_written(
    cookiecutter_home: Path, tmp_path: Path
) -> None:
    done = _cookiecutter("--no-input", str(TEMPLATE), "-o", str(tmp_path), "project_slug=a-b")
    assert done.returncode != 0
    assert "error: project_slug 'a-b' is not a valid Python identifier" in done.stderr
    assert list(tmp_path.glob("a*")) == []


def test_the_pre_gen_hook_checks_choices_from_a_replay_file(
    cookiecutter_home: Path, tmp_path: Path
) -> None:
    # cookiecutter checks --no-input choices itself; a replay file bypasses that check.
    good = _cookiecutter("--no-input", str(TEMPLATE), "-o", str(tmp_path / "first"))
    assert good.returncode == 0, good.stderr
    replay_file = cookiecutter_home / "replay" / "mlflow-project.json"
    replay = json.loads(replay_file.read_text())
    replay["cookiecutter"]["model_family"] = "xgboost"
    replay["cookiecutter"]["project_slug"] = "replayed"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(replay))
    done = _cookiecutter("--replay-file", str(bad), str(TEMPLATE), "-o", str(tmp_path / "out"))
    assert done.returncode != 0
    assert "error: model_family 'xgboost' is not accepted; accepted: sklearn-rf" in done.stderr
    assert not (tmp_path / "out" / "replayed").exists()
