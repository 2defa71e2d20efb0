"""An alert as data: its rule, its annotations, and the ``promtool`` test cases rendered from it.

Each test case is built from the same numbers as its alert, so a user who edits a threshold
in the pipeline config re-renders and gets tests that still mean "just above" and "well
below". Annotations use only ``{{ $labels.NAME }}`` (never ``$value``), so the expected
annotations of a firing case are known exactly when the tests are rendered.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal

from monitoring.stack.settings import duration

__all__ = [
    "SEVERITIES",
    "Alert",
    "Series",
    "Suite",
    "TestCase",
    "counter",
    "expand_labels",
    "number",
    "percent",
    "steps",
]

SEVERITIES = ("info", "warning", "critical")
# Which test files a case goes to: the alerts' own (alerts/mlharness-alerts.yml) or the
# SLO's (rules/mlharness-slo.yml + alerts/mlharness-slo-alerts.yml).
Suite = Literal["alerts", "slo"]


def number(value: float) -> str:
    """A float as PromQL and label values write it (``0.5``, ``2``, ``1e-05``)."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def percent(share: float) -> str:
    """``0.05`` as ``5%`` (rounded, so float noise never shows)."""
    return f"{number(round(share * 100, 6))}%"


def steps(total_s: int, interval_s: int) -> int:
    """Samples enough to cover ``total_s`` at ``interval_s``, plus two."""
    return math.ceil(total_s / interval_s) + 2


def counter(segments: list[tuple[int, int]]) -> str:
    """promtool's expanding notation for a counter that starts at 0 and then grows by
    ``increment`` per sample for ``samples`` samples, segment after segment."""
    parts = ["0"]
    value = 0
    for increment, samples in segments:
        if samples <= 0:
            continue
        parts.append(f"{value + increment}+{increment}x{samples - 1}")
        value += increment * samples
    return " ".join(parts)


@dataclass(frozen=True)
class Series:
    """One input series of a promtool test: ``metric{labels}`` and expanding notation."""

    series: str
    values: str


@dataclass(frozen=True)
class TestCase:
    """Input series, the evaluation time, and the alert labels expected (none: quiet)."""

    interval_s: int
    eval_s: int
    series: tuple[Series, ...]
    fires: bool
    labels: dict[str, str] = field(default_factory=dict)
    # A case spanning days is evaluated at its own (coarser) interval, in its own file.
    evaluation_s: int | None = None
    # What the case shows, when more than "fires" / "stays quiet" (e.g. "a short blip").
    name: str = ""
    # Cases of one group share a promtool test group (their series side by side), so the
    # rules run once for all of them: e.g. the same scenario for two objectives.
    group: str = ""

    @property
    def interval(self) -> str:
        return duration(self.interval_s)

    @property
    def eval_time(self) -> str:
        return duration(self.eval_s)


@dataclass(frozen=True)
class Alert:
    """One alerting rule and everything rendered from it."""

    name: str
    severity: str
    expr: str
    for_s: int
    summary: str
    description: str
    runbook: str
    labels: dict[str, str]
    firing: TestCase
    quiet: TestCase | None  # None: an alert that always fires (Watchdog)
    more: tuple[TestCase, ...] = ()
    suite: Suite = "alerts"

    @property
    def anchor(self) -> str:
        """The README heading's anchor (GitHub's slug of the alert name)."""
        return self.name.lower()

    @property
    def for_(self) -> str:
        return duration(self.for_s)

    def cases(self) -> list[TestCase]:
        """Every test case: the firing one, the quiet one, then the others."""
        return [self.firing, *([self.quiet] if self.quiet else []), *self.more]

    def rule_labels(self) -> dict[str, str]:
        return {"severity": self.severity, **self.labels}

    def annotations(self, runbook_base: str) -> dict[str, str]:
        return {
            "summary": self.summary,
            "description": self.description,
            "runbook_url": f"{runbook_base}#{self.anchor}",
        }

    def expected_annotations(
        self, runbook_base: str, case: TestCase | None = None
    ) -> dict[str, str]:
        """The annotations of a firing test case, ``$labels`` expanded."""
        labels = {**(case or self.firing).labels, **self.rule_labels()}
        return {k: expand_labels(v, labels) for k, v in self.annotations(runbook_base).items()}


_LABEL_REF = re.compile(r"\{\{\s*\$labels\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def expand_labels(template: str, labels: dict[str, str]) -> str:
    """Expand ``{{ $labels.x }}`` as Prometheus does (a missing label is empty)."""
    return _LABEL_REF.sub(lambda m: labels.get(m.group(1), ""), template)
