"""The SLO stack of ``examples/rf-pipeline.yaml`` passes promtool and amtool, and its
generated tests are real: each breaks when the rule it guards is broken."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.harness_cli import mlharness
from tests.support.paths import REPO

pytestmark = pytest.mark.functional


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The example's stack, rendered and checked by the command in one go (the check runs
    promtool, amtool and the blackbox exporter over it): its output and its JSON report."""
    root = tmp_path_factory.mktemp("slo-stack")
    config = root / "rf-pipeline.yaml"
    shutil.copy(REPO / "examples" / "rf-pipeline.yaml", config)
    out = root / "out"
    done = mlharness(
        "monitor", "render", str(config), "-o", str(out), "--check", str(out), "--json",
        tracking_uri=f"sqlite:///{root / 'unused.db'}", cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return out, json.loads(done.stdout)


@pytest.fixture(scope="module")
def stack(rendered: tuple[Path, dict[str, Any]]) -> Path:
    return rendered[0]


def test_check_passes_on_a_fresh_render_through_the_command(
    rendered: tuple[Path, dict[str, Any]],
) -> None:
    _, report = rendered
    assert report["render"]["changed"] and report["check"]["ok"]
    # Ten threshold alerts, four of freshness and meta-monitoring, WrongAnswers (the
    # example probes its input example) and four burn-rate alerts per objective.
    assert len(report["check"]["alerts"]) == 23 and report["check"]["panels"] >= 14


def test_the_example_stack_passes_promtool_and_amtool(
    rendered: tuple[Path, dict[str, Any]],
) -> None:
    stack, report = rendered
    rules = sorted(str(p.relative_to(stack)) for p in (stack / "alerts").glob("*.yml"))
    rules += sorted(str(p.relative_to(stack)) for p in (stack / "rules").glob("*.yml"))
    checked = run("promtool", "check", "rules", *rules, cwd=stack)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 8 rules found" in checked.stdout  # the burn-rate alerts
    # The command's check ran promtool over the five generated test files and amtool over
    # the Alertmanager config, and both passed (a failing tool is a problem: not ok).
    tests = sorted(f"tests/{p.name}" for p in (stack / "tests").glob("*.test.yml"))
    assert len(tests) == 5 and report["check"]["ok"], report["check"]
    commands = report["check"]["commands"]
    assert "promtool test rules " + " ".join(tests) in commands, commands
    assert "amtool check-config alertmanager.yml" in commands, commands
    routed = run(
        "amtool", "config", "routes", "test", "--config.file=alertmanager.yml",
        "--verify.receivers=mlharness-critical", "alertname=AvailabilityFastBurnPage",
        "severity=critical", cwd=stack,
    )  # fmt: skip
    assert routed.returncode == 0, routed.stdout + routed.stderr


def broken(stack: Path, tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of the stack with the first match of the regular expression ``old`` in
    ``file`` replaced by ``new``."""
    copy = tmp_path / "stack"
    shutil.copytree(stack, copy)
    path = copy / file
    text, count = re.subn(old, new, path.read_text(), count=1)
    assert count == 1, (old, file)
    path.write_text(text)
    return copy


def test_page_tests_fail_when_a_factor_moves(stack: Path, tmp_path: Path) -> None:
    # 16x instead of 14.4x: the burn just above 14.4x no longer fires.
    copy = broken(
        stack, tmp_path, "alerts/mlharness-slo-alerts.yml", r"\(14\.4 \* 0\.005\)", "(16 * 0.005)"
    )
    done = run("promtool", "test", "rules", "mlharness-slo.test.yml", cwd=copy / "tests")
    assert done.returncode != 0
    assert "AvailabilityFastBurnPage" in done.stdout + done.stderr


def test_page_tests_fail_when_the_long_window_stops_guarding_blips(
    stack: Path, tmp_path: Path
) -> None:
    # The fast page reading its short window twice: a 5-minute blip would page.
    copy = broken(
        stack,
        tmp_path,
        "alerts/mlharness-slo-alerts.yml",
        r'ratio_rate1h\{slo=\\"latency\\"\}',
        r'ratio_rate5m{slo=\\"latency\\"}',
    )
    done = run("promtool", "test", "rules", "mlharness-slo.test.yml", cwd=copy / "tests")
    assert done.returncode != 0
    assert "a short blip" in done.stdout + done.stderr


def test_ticket_and_budget_tests_fail_on_a_wrong_budget(stack: Path, tmp_path: Path) -> None:
    copy = broken(
        stack,
        tmp_path,
        "rules/mlharness-slo.yml",
        r'(ratio_rate30d\{slo=\\"availability\\"\}\)) / 0\.005',
        r"\1 / 0.01",
    )
    done = run("promtool", "test", "rules", "mlharness-slo-slow.test.yml", cwd=copy / "tests")
    assert done.returncode != 0
    assert "slo:error_budget_remaining:ratio" in done.stdout + done.stderr


def test_drift_check_stale_fires_after_its_series_went_stale(stack: Path, tmp_path: Path) -> None:
    """Without max_over_time, a stale series (a restarted Pushgateway) silences the alert:
    the generated case that feeds a series which goes stale catches it."""
    copy = broken(
        stack,
        tmp_path,
        "alerts/mlharness-alerts.yml",
        r"max\(max_over_time\((mlharness_drift_last_success_timestamp_seconds)\[\w+\]\)\)",
        r"max(\1)",
    )
    done = run("promtool", "test", "rules", "mlharness-slow-alerts.test.yml", cwd=copy / "tests")
    assert done.returncode != 0
    assert "DriftCheckStale" in done.stdout + done.stderr
    passed = run("promtool", "test", "rules", "mlharness-slow-alerts.test.yml", cwd=stack / "tests")
    assert passed.returncode == 0, passed.stdout + passed.stderr
