"""MLflow's client, tracking module and exceptions are reached only through the store.

import-linter's contract (pyproject.toml) catches ``import mlflow.exceptions`` and its kin;
it cannot see ``from mlflow import MlflowClient`` (an import of ``mlflow`` itself) nor a
name used through ``mlflow.tracking.X`` after ``import mlflow``. This test reads every
module's syntax tree for those.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import REPO

PACKAGES = ("harness", "registry_tools", "orchestration", "monitoring")
FORBIDDEN_MODULES = ("mlflow.exceptions", "mlflow.tracking", "mlflow.client")
FORBIDDEN_NAMES = {"MlflowClient", "MlflowException", "RestException"}
# The boundary itself, and the scoring server's request parsing (it reuses MLflow's).
ALLOWED = ("harness/store/", "orchestration/serving/parsing.py")


def _modules() -> list[Path]:
    return [
        path
        for package in PACKAGES
        for path in sorted((REPO / package).rglob("*.py"))
        if "templates" not in path.relative_to(REPO).parts
    ]


def _offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(FORBIDDEN_MODULES):
                    found.append(f"{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(FORBIDDEN_MODULES):
                found.append(f"{node.lineno}: from {node.module} import ...")
            elif node.module.split(".")[0] == "mlflow":
                names = {alias.name for alias in node.names} & FORBIDDEN_NAMES
                found += [f"{node.lineno}: from {node.module} import {n}" for n in names]
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_NAMES:
            found.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Attribute) and node.attr in {"tracking", "exceptions", "client"}:
            if isinstance(node.value, ast.Name) and node.value.id == "mlflow":
                found.append(f"{node.lineno}: mlflow.{node.attr}")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            found.append(f"{node.lineno}: {node.id}")
    return found


def test_the_scan_sees_every_form_of_the_forbidden_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import mlflow\n"
        "from mlflow import MlflowClient\n"
        "from mlflow.exceptions import MlflowException\n"
        "import mlflow.tracking\n"
        "client = mlflow.tracking.MlflowClient()\n"
    )
    assert len(_offences(sample)) >= 5


def test_no_module_outside_the_store_reaches_mlflows_client_or_exceptions() -> None:
    offences = {
        str(path.relative_to(REPO)): found
        for path in _modules()
        if not str(path.relative_to(REPO)).startswith(ALLOWED)
        for found in [_offences(path)]
        if found
    }
    assert offences == {}, (
        "use harness.store (mlflow_boundary.Client, classify/convert, the Registry and "
        f"Tracking facades) instead: {offences}"
    )
