"""The generated packages are typed: ``mypy --strict`` passes for every family x task."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from harness.scaffold.project_template import create_project
from tests.support.paths import VENV_BIN
from tests.support.templates import FAMILIES, TASKS

pytestmark = pytest.mark.functional


def test_generated_packages_pass_mypy_strict(cookiecutter_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "projects"
    slugs = []
    for family in FAMILIES:
        for task in TASKS:
            slug = f"typed_{family.replace('-', '_')}_{task}"
            values = {"project_slug": slug, "model_family": family, "task": task}
            create_project(output_dir=out, values=values, no_input=True)
            slugs.append(slug)
    # One mypy process for all eight packages: each project root goes on the search path.
    packages = [arg for slug in slugs for arg in ("-p", slug)]
    done = subprocess.run(
        [
            str(VENV_BIN / "mypy"),
            "--strict",
            "--ignore-missing-imports",
            "--cache-dir",
            str(tmp_path / "mypy-cache"),
            *packages,
        ],
        cwd=out,
        env={**os.environ, "MYPYPATH": os.pathsep.join(str(out / s) for s in slugs)},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
