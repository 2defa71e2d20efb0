"""The cheap requirements check finds what MLflow's own check finds, in MLflow's words."""

from __future__ import annotations

import logging
import platform
from importlib import metadata
from pathlib import Path

import pytest
from mlflow.utils.requirements_utils import warn_dependency_requirement_mismatches

from harness.store.model_requirements import requirement_mismatches, warn_if_unsatisfied

NUMPY = metadata.version("numpy")
LINES = [
    f"mlflow=={metadata.version('mlflow')}",
    f"numpy=={NUMPY}",  # satisfied
    "numpy<1",  # another version installed
    "scikit-learn>=999",  # another version installed
    "mlharness-no-such-package==1.0",  # not installed
    'numpy==0.0.1; sys_platform == "no-such-platform"',  # marker does not apply
    "-r other-requirements.txt",  # not a requirement
    "./some/local/path",  # not a requirement
    "pandas  # a comment",  # satisfied, with a comment
]


def _requirements(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text("\n".join(LINES) + "\n")
    return path


def test_same_mismatches_as_mlflows_check(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ours = requirement_mismatches(_requirements(tmp_path))
    assert [line.split(" ")[0] for line in ours] == [
        "numpy",
        "scikit-learn",
        "mlharness-no-such-package",
    ]
    requirements = [line.split("#")[0].strip() for line in LINES if not line.startswith("-r")]
    with caplog.at_level(logging.WARNING, logger="mlflow"):
        warn_dependency_requirement_mismatches(requirements)
    theirs = [
        line.removeprefix(" - ")
        for record in caplog.records
        for line in record.getMessage().splitlines()
        if line.startswith(" - ")
    ]
    assert ours == theirs


def test_warnings_are_logged_for_requirements_and_python(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _requirements(tmp_path)
    with caplog.at_level(logging.WARNING, logger="harness.store.model_requirements"):
        warn_if_unsatisfied(tmp_path, "2.7.18")
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert "numpy (current: " + NUMPY + ", required: numpy<1)" in messages[0]
    assert "Python 2.7.18" in messages[1]


def test_a_satisfied_model_logs_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "requirements.txt").write_text(f"numpy=={NUMPY}\n")
    with caplog.at_level(logging.WARNING):
        warn_if_unsatisfied(tmp_path, platform.python_version())
        warn_if_unsatisfied(tmp_path / "no-such-model", None)
    assert caplog.records == []
