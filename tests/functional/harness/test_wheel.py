"""A wheel built from the repository, installed into a fresh venv, gives a working
``mlharness new``: ``templates/`` ships as package data (``harness/templates``).

The fresh venv borrows the dependencies of this venv through a ``.pth`` line (nothing is
downloaded); mlharness itself comes only from the wheel, which the test checks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.support.paths import REPO

pytestmark = [pytest.mark.functional, pytest.mark.slow]
PIP = [sys.executable, "-m", "pip"]
_WHERE = "import harness.scaffold.project_template as s; print(s.__file__); print(s.TEMPLATES_DIR)"


def _source_files() -> list[str]:
    """The files a clean checkout would have (tracked, or new and not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (REPO / name).is_file()]


def _isolated_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p)
    return env


def test_a_wheel_installed_in_a_fresh_venv_renders_a_new_project(tmp_path: Path) -> None:
    source = tmp_path / "src"
    for name in _source_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    dist = tmp_path / "dist"
    subprocess.run(
        [*PIP, "wheel", "--no-deps", "--no-build-isolation", "-q", str(source), "-w", str(dist)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("mlharness-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "harness/templates/mlflow-project/cookiecutter.json" in names
    assert any(name.endswith("/.mlharness-template.json") for name in names)

    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    fresh_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # The dependencies (cookiecutter, typer, ...) from this venv, after the fresh one's own.
    (Path(fresh_site) / "mlharness-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [*PIP, "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run(
        [
            str(python),
            "-c",
            "import harness.scaffold.project_template as s; "
            "print(s.__file__); print(s.TEMPLATES_DIR)",
        ],
        cwd=elsewhere,
        env=_isolated_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert where == [
        f"{fresh_site}/harness/scaffold/project_template.py",
        f"{fresh_site}/harness/templates",
    ]

    # One source for the version: the wheel's metadata and `mlharness --version` both say
    # harness.__version__.
    import harness

    version = subprocess.run(
        [str(venv / "bin" / "mlharness"), "--version"],
        cwd=elsewhere,
        env=_isolated_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert version.stdout.strip() == f"mlharness {harness.__version__}", version.stderr
    assert wheel.name.startswith(f"mlharness-{harness.__version__}-")

    done = subprocess.run(
        [
            str(venv / "bin" / "mlharness"),
            "new",
            "--no-input",
            "-o",
            str(tmp_path / "out"),
            "--json",
        ],
        cwd=elsewhere,
        env=_isolated_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (project,) = (tmp_path / "out").iterdir()
    assert (project / "MLproject").is_file()
    assert (project / ".mlharness-template.json").is_file()
    assert json.loads(done.stdout)["template"] == f"{fresh_site}/harness/templates/mlflow-project"
