"""Every project and the template carry the same ``concurrent_logging`` helper, and none of
them calls ``mlflow.log_input`` except through it (trials that start together log the same
new dataset at once; tests/functional/projects/test_dataset_race.py proves the helper)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.dataset_race import HELPER
from tests.support.paths import PROJECTS, TEMPLATES

TEMPLATE_PACKAGE = next((TEMPLATES / "mlflow-project").glob("*/{{cookiecutter.project_slug}}"))
PACKAGES = [
    PROJECTS / "rf" / "rf_project",
    PROJECTS / "torch_mlp" / "torch_mlp_project",
    PROJECTS / "multistep" / "multistep_project",
    TEMPLATE_PACKAGE,
]


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_every_project_carries_the_same_helper(package: Path) -> None:
    assert (package / "concurrent_logging.py").read_text() == HELPER.read_text()


# Text, not an AST: the template's modules hold Jinja blocks.
DIRECT_CALL = re.compile(r"\b(mlflow|client|MlflowClient\(\))\.log_inputs?\(")


def _direct_log_input_calls(path: Path) -> list[int]:
    lines = path.read_text().splitlines()
    return [number for number, line in enumerate(lines, 1) if DIRECT_CALL.search(line)]


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_no_project_logs_an_input_past_the_helper(package: Path) -> None:
    calls = {
        str(path.relative_to(package)): lines
        for path in sorted(package.rglob("*.py"))
        if path.name != "concurrent_logging.py" and (lines := _direct_log_input_calls(path))
    }
    assert calls == {}, f"call concurrent_logging.log_input instead of mlflow.log_input: {calls}"
