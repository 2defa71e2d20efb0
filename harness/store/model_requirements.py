"""Whether this environment satisfies a downloaded model's requirements, checked cheaply.

``mlflow.pyfunc.load_model`` warns when the environment does not satisfy the model's
``requirements.txt``, but to do so it first maps every installed module to its
distribution (``importlib_metadata.packages_distributions()``, which reads the file list
of every installed package): about 0.85 CPU-s in this project's venv, in every process that
loads a model (each scoring server start and reload, each profile and golden update). The
same check needs one metadata lookup per requirement. ``Registry.load_pyfunc`` therefore
loads with ``suppress_warnings=True`` and logs these warnings itself, with MLflow's wording.
"""

from __future__ import annotations

import logging
import platform
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version

__all__ = ["requirement_mismatches", "warn_if_unsatisfied"]

_logger = logging.getLogger(__name__)


def requirement_mismatches(requirements_file: Path) -> list[str]:
    """``"name (current: V, required: REQ)"`` for each requirement of the file that this
    environment does not satisfy; lines that are not plain requirements (``-r``, paths,
    URLs) and requirements whose markers do not apply here are skipped, as MLflow does."""
    if not requirements_file.is_file():
        return []
    found = []
    for line in requirements_file.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith("-"):
            continue
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            installed: str | None = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            installed = None
        if (
            installed is not None
            and requirement.name == "mlflow"
            and Version(installed).is_devrelease
        ):
            continue  # MLflow's own check exempts a development build of MLflow
        if installed is None or (
            requirement.specifier and not requirement.specifier.contains(installed)
        ):
            found.append(f"{requirement.name} (current: {installed or 'uninstalled'}, "
                         f"required: {text})")  # fmt: skip
    return found


def warn_if_unsatisfied(model_dir: Path, python_version: str | None) -> None:
    """Log what ``mlflow.pyfunc.load_model`` would warn about for the model in
    ``model_dir``: requirements this environment does not satisfy, and a model saved by
    another Python (major.minor)."""
    mismatches = requirement_mismatches(model_dir / "requirements.txt")
    if mismatches:
        _logger.warning(
            "Detected one or more mismatches between the model's dependencies and the current "
            "Python environment:\n - %s",
            "\n - ".join(mismatches),
        )
    here = platform.python_version()
    if python_version and python_version.split(".")[:2] != here.split(".")[:2]:
        _logger.warning(
            "The model was saved with Python %s, which differs from this Python %s: it may "
            "not load or predict the same.",
            python_version,
            here,
        )
