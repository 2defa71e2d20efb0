"""The repository's own set-up files agree with each other and hold no run output."""

from __future__ import annotations

import re
import subprocess
import tomllib

import yaml

from tests.support.paths import REPO


def _requirement_lines() -> list[str]:
    lines = (REPO / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_requirements_are_pinned_exactly() -> None:
    for line in _requirement_lines():
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[a-z,]+\])?==[0-9][0-9A-Za-z.+]*", line), line
    assert "torch==2.13.0" in _requirement_lines()


def test_conda_env_has_the_same_pins() -> None:
    conda = yaml.safe_load((REPO / "conda.yml").read_text())
    pip_section = next(d["pip"] for d in conda["dependencies"] if isinstance(d, dict))
    assert sorted(pip_section) == sorted(_requirement_lines())
    assert "python=3.11.7" in conda["dependencies"]


def test_pyproject_declares_packages_script_and_extras() -> None:
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "mlharness"
    assert meta["project"]["scripts"]["mlharness"] == "harness.app:main"
    assert {"dev", "airflow"} <= set(meta["project"]["optional-dependencies"])


def test_every_package_of_the_tree_is_listed_and_templates_ship_as_package_data() -> None:
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {
        ".".join(init.parent.relative_to(REPO).parts)
        for root in ("harness", "registry_tools", "orchestration", "monitoring")
        for init in (REPO / root).rglob("__init__.py")
    }
    listed = set(setuptools["packages"])
    missing = sorted(on_disk - listed)
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"
    assert listed - on_disk == {"harness.templates"}
    assert setuptools["package-dir"] == {"harness.templates": "templates"}
    assert "**/*" in setuptools["package-data"]["harness.templates"]


def test_project_envs_pin_python_and_every_dependency() -> None:
    for env_file in sorted((REPO / "projects").glob("*/python_env.yaml")):
        spec = yaml.safe_load(env_file.read_text())
        assert spec["python"] == "3.11.7", env_file
        for dep in spec["dependencies"]:
            assert "==" in dep, f"{env_file}: {dep} is not pinned"


def test_git_tracks_no_run_output() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert tracked, "not a git checkout"
    forbidden = re.compile(r"(^|/)(mlruns|mlartifacts|\.venv)(/|$)|(^|/)mlflow\.db$")
    assert [path for path in tracked if forbidden.search(path)] == []
