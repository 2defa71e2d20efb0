"""Golden files: the rules, tests and configs rendered from ``examples/rf-pipeline.yaml``.

A change to the generator (a window, a factor, an expression, a test case) changes these
files, and this test fails until the golden copies are renewed on purpose:
``MLHARNESS_UPDATE_GOLDEN=1 pytest tests/unit/stack/test_golden_files.py`` rewrites
``tests/golden/monitoring/``, so a reviewer sees every change to the rendered rules in the diff.
"""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

import pytest

from monitoring.stack.operations import write_stack
from tests.support.paths import REPO

EXAMPLE = REPO / "examples" / "rf-pipeline.yaml"
GOLDEN = REPO / "tests" / "golden" / "monitoring"
UPDATE = os.environ.get("MLHARNESS_UPDATE_GOLDEN") == "1"
# What is kept: the rules, their tests and the configs that route and probe.
KEPT = ("alerts/", "rules/", "tests/", "prometheus.yml", "alertmanager.yml", "blackbox.yml")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("golden-stack")
    config = root / EXAMPLE.name
    shutil.copy(EXAMPLE, config)
    write_stack(config, root / "stack")
    return root / "stack"


def kept_files(stack: Path) -> list[str]:
    files = sorted(str(p.relative_to(stack)) for p in stack.rglob("*") if p.is_file())
    return [f for f in files if f.startswith(KEPT)]


def test_the_rendered_rules_match_the_golden_files(rendered: Path) -> None:
    files = kept_files(rendered)
    assert {"alerts/mlharness-slo-alerts.yml", "rules/mlharness-slo.yml"} <= set(files)
    if UPDATE:
        shutil.rmtree(GOLDEN, ignore_errors=True)
    stale = sorted(
        str(p.relative_to(GOLDEN)).removesuffix(".golden")
        for p in GOLDEN.rglob("*.golden")
        if str(p.relative_to(GOLDEN)).removesuffix(".golden") not in files
    )
    assert not stale, f"golden files the render no longer makes: {stale}"
    for relative in files:
        expected = GOLDEN / (relative + ".golden")
        actual = (rendered / relative).read_text(encoding="utf-8")
        if UPDATE:
            expected.parent.mkdir(parents=True, exist_ok=True)
            expected.write_text(actual, encoding="utf-8")
        assert expected.is_file(), f"no golden file {expected}; run with MLHARNESS_UPDATE_GOLDEN=1"
        wanted = expected.read_text(encoding="utf-8")
        if actual != wanted:
            diff = "".join(
                difflib.unified_diff(
                    wanted.splitlines(True), actual.splitlines(True), str(expected), relative, n=1
                )
            )
            pytest.fail(
                f"{relative} differs from its golden file (renew with MLHARNESS_UPDATE_GOLDEN=1 "
                f"and review the diff):\n{diff[:4000]}"
            )


def test_a_changed_generator_fails_the_comparison(rendered: Path, tmp_path: Path) -> None:
    """The comparison is real: one changed factor in a rendered rule is a difference."""
    copy = tmp_path / "stack"
    shutil.copytree(rendered, copy)
    slo = copy / "alerts" / "mlharness-slo-alerts.yml"
    slo.write_text(slo.read_text().replace("(14.4 * 0.005)", "(14 * 0.005)"))
    golden = (GOLDEN / "alerts" / "mlharness-slo-alerts.yml.golden").read_text()
    assert slo.read_text() != golden
    assert (rendered / "alerts" / "mlharness-slo-alerts.yml").read_text() == golden
