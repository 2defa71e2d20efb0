"""The check operation: lint a rendered (or hand-edited) monitoring stack.

What a hand edit most often breaks is what nobody tests: an alert without a runbook, a
threshold edit whose test no longer fires, a metric renamed on one side. So the check
runs the stack's own tools (promtool, amtool, the blackbox exporter) and adds what they
do not check: alert conventions (severity, summary, description, a ``runbook_url`` that
resolves to a heading of the stack's README, a ``for``), a firing and a quiet test per
alert, every expression (alerts, recording rules, dashboard panels) naming only metrics
that something in the stack exports or records, and the dashboard's pinned schema.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import cast

from harness.kernel.errors import MlharnessError
from monitoring.stack.alerts import SEVERITIES
from monitoring.stack.dashboard import SCHEMA_VERSION
from monitoring.stack.promql import is_known, metric_names

__all__ = [
    "TOOLS",
    "CheckResult",
    "Problem",
    "lint_stack",
    "readme_anchors",
    "tool_path",
]

TOOLS = {
    "promtool": "prometheus",
    "amtool": "prometheus-alertmanager",
    "prometheus-blackbox-exporter": "prometheus-blackbox-exporter",
}
TOOL_TIMEOUT_S = 300
YamlDoc = dict[str, object]


@dataclass(frozen=True)
class Problem:
    """One thing wrong, and the file (and rule) it is in."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class CheckResult:
    """Every problem found (none: the stack passed) and what was checked."""

    stack: str
    problems: list[Problem] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    recording_rules: int = 0
    test_cases: int = 0
    panels: int = 0
    commands: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def tool_path(name: str) -> str:
    """The installed binary, or a clear error naming the Debian package."""
    found = shutil.which(name)
    if found is None:
        raise MlharnessError(
            f"{name} not found on PATH",
            hint=f"install the Debian package {TOOLS.get(name, name)}",
        )
    return found


def _slug(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def readme_anchors(readme: Path) -> set[str]:
    """The anchors of every Markdown heading in ``readme`` (outside code fences)."""
    anchors: set[str] = set()
    fenced = False
    for line in readme.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"^#{1,6}\s+(.*)$", line)):
            anchors.add(_slug(match.group(1)))
    return anchors


def _yaml(path: Path, result: CheckResult) -> YamlDoc | None:
    import yaml

    where = os.path.relpath(path, result.stack)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        result.problems.append(Problem(where, f"cannot read: {str(exc).splitlines()[0]}"))
        return None
    if not isinstance(data, dict):
        result.problems.append(Problem(where, "expected a YAML mapping"))
        return None
    return cast(YamlDoc, data)


def _run(result: CheckResult, where: str, command: list[str], cwd: Path) -> str | None:
    """Run a tool; a failure is a problem (its output's tail), success returns stdout."""
    result.commands.append(" ".join([Path(command[0]).name, *command[1:]]))
    try:
        done = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        result.problems.append(Problem(where, f"{command[0]} timed out"))
        return None
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip().splitlines()
        tail = " | ".join(line.strip() for line in output[-6:] if line.strip())
        result.problems.append(Problem(where, f"{Path(command[0]).name} failed: {tail}"))
        return None
    return done.stdout


def _rule_files(stack: Path, prometheus: YamlDoc) -> list[Path]:
    patterns = prometheus.get("rule_files") or []
    files: set[Path] = set()
    for pattern in patterns if isinstance(patterns, list) else []:
        files.update(Path(p) for p in glob.glob(str(stack / str(pattern))))
    return sorted(files)


def _rules(rule_files: list[Path], result: CheckResult) -> list[tuple[Path, YamlDoc]]:
    rules: list[tuple[Path, YamlDoc]] = []
    for path in rule_files:
        data = _yaml(path, result)
        groups = data.get("groups") if data else None
        for group in groups if isinstance(groups, list) else []:
            for rule in group.get("rules") or [] if isinstance(group, dict) else []:
                if isinstance(rule, dict):
                    rules.append((path, cast(YamlDoc, rule)))
    return rules


def _check_names(where: str, expr: str, recorded: frozenset[str], result: CheckResult) -> None:
    try:
        names = metric_names(expr)
    except ValueError as exc:
        result.problems.append(Problem(where, str(exc)))
        return
    for name in sorted(names):
        if not is_known(name, recorded):
            result.problems.append(
                Problem(where, f"metric {name} is exported by nothing in the stack")
            )


def _mapping(value: object) -> dict[str, object]:
    return cast(dict[str, object], value) if isinstance(value, dict) else {}


def _check_alert(path: Path, rule: YamlDoc, anchors: set[str], result: CheckResult) -> None:
    name = str(rule["alert"])
    where = f"{path.name}: {name}"
    labels = _mapping(rule.get("labels"))
    annotations = _mapping(rule.get("annotations"))
    severity = labels.get("severity")
    if severity not in SEVERITIES:
        result.problems.append(
            Problem(where, f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")
        )
    for key in ("summary", "description"):
        if not str(annotations.get(key) or "").strip():
            result.problems.append(Problem(where, f"no {key} annotation"))
    if "for" not in rule:
        result.problems.append(Problem(where, "no `for` (how long the condition must hold)"))
    runbook = str(annotations.get("runbook_url") or "")
    page, _, anchor = runbook.partition("#")
    if not runbook:
        result.problems.append(Problem(where, "no runbook_url annotation"))
    elif not page.endswith("README.md") or anchor not in anchors:
        result.problems.append(
            Problem(where, f"runbook_url {runbook!r} is not a heading of the stack's README.md")
        )


# An alert on a constant (Watchdog's ``vector(1)``) always fires: no quiet case exists.
_ALWAYS = re.compile(r"^\s*vector\(\s*1\s*\)\s*$")


def _check_tests(
    stack: Path, alerts: list[str], result: CheckResult, promtool: str, always: set[str]
) -> None:
    files = sorted((stack / "tests").glob("*.yml")) if (stack / "tests").is_dir() else []
    if not files:
        result.problems.append(Problem("tests/", "no promtool test files"))
        return
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in files:
        data = _yaml(path, result)
        tests = data.get("tests") if data else None
        for test in tests if isinstance(tests, list) else []:
            for case in test.get("alert_rule_test") or [] if isinstance(test, dict) else []:
                if not isinstance(case, dict):
                    continue
                result.test_cases += 1
                (firing if case.get("exp_alerts") else quiet).add(str(case.get("alertname")))
    for alert in alerts:
        if alert not in firing:
            result.problems.append(Problem("tests/", f"{alert}: no test case where it fires"))
        if alert not in quiet and alert not in always:
            result.problems.append(Problem("tests/", f"{alert}: no test case where it stays quiet"))
    relative = [str(p.relative_to(stack)) for p in files]
    _run(result, "tests/", [promtool, "test", "rules", *relative], stack)


def _check_dashboards(
    stack: Path, recorded: frozenset[str], result: CheckResult, promtool: str
) -> None:
    import json

    exprs: list[tuple[str, str]] = []
    for path in sorted((stack / "grafana" / "dashboards").glob("*.json")):
        where = str(path.relative_to(stack))
        try:
            board = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            result.problems.append(Problem(where, f"not valid JSON: {exc}"))
            continue
        if board.get("schemaVersion") != SCHEMA_VERSION:
            result.problems.append(
                Problem(
                    where,
                    f"schemaVersion {board.get('schemaVersion')!r}, pinned: {SCHEMA_VERSION}",
                )
            )
        ids = [p.get("id") for p in board.get("panels", [])]
        if len(ids) != len(set(ids)):
            result.problems.append(Problem(where, "panel ids are not unique"))
        for panel in board.get("panels", []):
            result.panels += 1
            for target in panel.get("targets", []):
                expr = str(target.get("expr") or "")
                panel_where = f"{where}: panel {panel.get('title')!r}"
                if not expr.strip():
                    result.problems.append(Problem(panel_where, "a target without an expression"))
                    continue
                exprs.append((panel_where, expr))
                _check_names(panel_where, expr, recorded, result)
    if not exprs:
        result.problems.append(Problem("grafana/dashboards/", "no dashboard panel queries"))
        return
    # promtool parses each panel query as a recording rule: invalid PromQL fails here.
    import yaml

    rules = [{"record": f"dashboard_check:panel_{n}", "expr": e} for n, (_, e) in enumerate(exprs)]
    with tempfile.TemporaryDirectory(prefix="mlharness-dashboard-check-") as tmp:
        path = Path(tmp) / "dashboard-queries.yml"
        path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
        _run(result, "grafana/dashboards/", [promtool, "check", "rules", str(path)], stack)


def _check_routes(stack: Path, severities: set[str], result: CheckResult, amtool: str) -> None:
    am = _yaml(stack / "alertmanager.yml", result)
    route = am.get("route") if am else None
    root = route.get("receiver") if isinstance(route, dict) else None
    command = [amtool, "config", "routes", "test", "--config.file=alertmanager.yml"]
    for severity in sorted(severities):
        out = _run(
            result,
            "alertmanager.yml",
            [*command, f"severity={severity}"],
            stack,
        )
        if out is not None and out.strip() == str(root):
            result.problems.append(
                Problem("alertmanager.yml", f"severity={severity} has no route of its own")
            )


def lint_stack(stack: Path) -> CheckResult:
    """Lint the stack in ``stack``; every problem is collected, none stops the rest."""
    if not stack.is_dir():
        raise MlharnessError(f"{stack}: no such directory", hint="pass a rendered stack")
    promtool, amtool = tool_path("promtool"), tool_path("amtool")
    blackbox = tool_path("prometheus-blackbox-exporter")
    result = CheckResult(stack=str(stack))
    for required in ("prometheus.yml", "alertmanager.yml", "blackbox.yml", "README.md"):
        if not (stack / required).is_file():
            result.problems.append(Problem(required, "missing"))
    if result.problems:
        return result
    prometheus = _yaml(stack / "prometheus.yml", result) or {}
    _run(result, "prometheus.yml", [promtool, "check", "config", "prometheus.yml"], stack)
    _run(result, "alertmanager.yml", [amtool, "check-config", "alertmanager.yml"], stack)
    _run(
        result,
        "blackbox.yml",
        [blackbox, "--config.file=blackbox.yml", "--config.check"],
        stack,
    )
    rules = _rules(_rule_files(stack, prometheus), result)
    if not rules:
        result.problems.append(Problem("prometheus.yml", "its rule_files hold no rules"))
    recorded = frozenset(str(r["record"]) for _, r in rules if "record" in r)
    anchors = readme_anchors(stack / "README.md")
    severities: set[str] = set()
    always: set[str] = set()
    for path, rule in rules:
        label = str(rule.get("alert") or rule.get("record"))
        _check_names(f"{path.name}: {label}", str(rule.get("expr", "")), recorded, result)
        if "alert" in rule:
            result.alerts.append(str(rule["alert"]))
            _check_alert(path, rule, anchors, result)
            if _ALWAYS.match(str(rule.get("expr", ""))):
                always.add(str(rule["alert"]))
            labels = rule.get("labels")
            if isinstance(labels, dict) and labels.get("severity") in SEVERITIES:
                severities.add(str(labels["severity"]))
        else:
            result.recording_rules += 1
    if rules and not result.alerts:
        result.problems.append(Problem("prometheus.yml", "its rule files hold no alerting rule"))
    _check_tests(stack, sorted(set(result.alerts)), result, promtool, always)
    _check_dashboards(stack, recorded, result, promtool)
    _check_routes(stack, severities, result, amtool)
    return result
