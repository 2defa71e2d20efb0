"""The suite's folders mean what they say: a test's marker is its folder's, the unit suite
never starts the ``mlharness`` CLI, and no suite imports another (shared helpers live in
``tests/support``)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
SUITES = ("unit", "functional", "integration")


def _modules(suite: str) -> list[Path]:
    return sorted((TESTS / suite).rglob("*.py"))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _markers(tree: ast.Module) -> set[str]:
    """The ``pytest.mark.X`` names in the module's ``pytestmark``."""
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            for sub in ast.walk(node.value):
                if (
                    isinstance(sub, ast.Attribute)
                    and isinstance(sub.value, ast.Attribute)
                    and sub.value.attr == "mark"
                ):
                    found.add(sub.attr)
    return found


def _imported(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_every_test_module_carries_its_folders_marker_and_no_other_suites() -> None:
    wrong = []
    for suite in SUITES:
        for path in _modules(suite):
            if not path.name.startswith("test_"):
                continue
            suite_markers = _markers(_tree(path)) & {"functional", "integration"}
            expected = set() if suite == "unit" else {suite}
            if suite_markers != expected:
                wrong.append(f"{path.relative_to(TESTS)}: {sorted(suite_markers)}")
    assert wrong == [], wrong


def test_the_unit_suite_never_starts_the_cli() -> None:
    starting = [
        str(path.relative_to(TESTS))
        for path in _modules("unit")
        if "tests.support.paths.MLHARNESS" in _imported(_tree(path))
    ]
    assert starting == [], "move these to tests/functional: " + ", ".join(starting)


def test_no_suite_imports_another() -> None:
    crossing = []
    for suite in SUITES:
        others = [f"tests.{other}" for other in SUITES if other != suite]
        for path in _modules(suite):
            for name in _imported(_tree(path)):
                if any(name == o or name.startswith(o + ".") for o in others):
                    crossing.append(f"{path.relative_to(TESTS)} imports {name}")
    assert crossing == [], crossing
