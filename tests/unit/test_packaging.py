"""The repository's own set-up files agree with each other and hold no run output."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib

import yaml

from tests.support.paths import REPO

PACKAGES = ("harness", "registry_tools", "orchestration", "monitoring")


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
    assert meta["project"]["scripts"]["mlharness"] == "harness.entry:main"
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


def test_license_is_an_spdx_expression_and_the_version_has_one_source() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    project = pyproject["project"]
    # setuptools warns on every build that the table form stops working on 2027-02-18
    assert project["license"] == "Apache-2.0"
    assert "version" not in project, "the version is harness.__version__, nowhere else"
    assert "version" in project["dynamic"]
    dynamic = pyproject["tool"]["setuptools"]["dynamic"]
    assert dynamic["version"] == {"attr": "harness.__version__"}
    import harness

    assert re.fullmatch(r"\d+\.\d+\.\d+([a-z]+\d+)?", harness.__version__)


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared_distributions() -> set[str]:
    """requirements.txt and every extra; a declared meta-package that ships no module of its
    own (apache-airflow) declares what it requires."""
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    lines = _requirement_lines() + [line for group in extras.values() for line in group]
    declared = {_normalized(re.split(r"[\[=<>~!; ]", line, maxsplit=1)[0]) for line in lines}
    for name in sorted(declared):
        try:
            files = importlib.metadata.distribution(name).files or []
        except importlib.metadata.PackageNotFoundError:
            continue
        if not any(str(f).endswith(".py") for f in files):
            for requirement in importlib.metadata.requires(name) or []:
                if "extra ==" not in requirement:
                    declared.add(_normalized(re.split(r"[\[=<>~!; (]", requirement, maxsplit=1)[0]))
    return declared


def _imported_modules() -> dict[str, str]:
    """Top-level third-party modules the packages import: ``{module: first importer}``."""
    found: dict[str, str] = {}
    for package in PACKAGES:
        for source in sorted((REPO / package).rglob("*.py")):
            for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in PACKAGES:
                        found.setdefault(top, str(source.relative_to(REPO)))
    return found


def test_every_third_party_module_the_packages_import_is_declared() -> None:
    """A module that arrives only as someone else's dependency (fastapi and uvicorn came
    only through mlflow) disappears when that dependency changes its mind."""
    declared = _declared_distributions()
    providers = importlib.metadata.packages_distributions()
    undeclared = []
    for module, importer in sorted(_imported_modules().items()):
        distributions = {_normalized(d) for d in providers.get(module, [])}
        if not distributions & declared:
            shown = ", ".join(sorted(distributions)) or "not installed"
            undeclared.append(f"{module} (imported by {importer}; from {shown})")
    assert not undeclared, (
        "declare these in requirements.txt (and conda.yml) or an extra, pinned at the version "
        "in .venv: " + "; ".join(undeclared)
    )
