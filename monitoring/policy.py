"""Which test decides drift for a column, its threshold, and when a data set drifts.

Defaults follow Evidently's size-dependent choice, decided by the reference size:

| column      | reference rows <= 1000          | reference rows > 1000                |
|-------------|---------------------------------|--------------------------------------|
| numerical   | KS p-value < 0.05               | Wasserstein (normed by std) >= 0.1   |
| categorical | chi-square p-value < 0.05       | Jensen-Shannon distance >= 0.1       |

Every column can be given another method and threshold (``COL=METHOD[:THRESHOLD]``);
PSI (threshold 0.1) is available for numerical columns. The data set drifts when the
share of drifting feature columns reaches ``drift_share`` (default 0.5).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from harness.kernel.assignments import AssignmentError, parse_typed_assignments
from harness.kernel.errors import ConfigError

__all__ = [
    "DEFAULT_DRIFT_SHARE",
    "DEFAULT_THRESHOLDS",
    "KIND_METHODS",
    "METHODS",
    "SMALL_REFERENCE",
    "Policy",
    "Rule",
    "make_policy",
    "parse_rule",
]

SMALL_REFERENCE = 1000
DEFAULT_DRIFT_SHARE = 0.5

# method -> (statistic compared, drift when the statistic is "below" / "above" threshold)
METHODS: dict[str, tuple[str, str]] = {
    "ks": ("ks_pvalue", "below"),
    "wasserstein": ("wasserstein_normed", "above"),
    "psi": ("psi", "above"),
    "chisquare": ("chi2_pvalue", "below"),
    "jensenshannon": ("js_distance", "above"),
}
DEFAULT_THRESHOLDS = {
    "ks": 0.05,
    "wasserstein": 0.1,
    "psi": 0.1,
    "chisquare": 0.05,
    "jensenshannon": 0.1,
}
KIND_METHODS = {
    "numerical": {"ks", "wasserstein", "psi"},
    "categorical": {"chisquare", "jensenshannon"},
}


@dataclass(frozen=True)
class Rule:
    """One column's deciding test."""

    method: str
    threshold: float

    @property
    def statistic(self) -> str:
        return METHODS[self.method][0]

    def drifted(self, value: float) -> bool:
        if METHODS[self.method][1] == "below":
            return value < self.threshold
        return value >= self.threshold


@dataclass(frozen=True)
class Policy:
    """Defaults, per-column overrides and the data-set share threshold."""

    drift_share: float = DEFAULT_DRIFT_SHARE
    overrides: dict[str, Rule] = field(default_factory=dict)

    def rule_for(self, column: str, kind: str, n_reference: int) -> Rule:
        if column in self.overrides:
            return self.overrides[column]
        small = n_reference <= SMALL_REFERENCE
        if kind == "numerical":
            method = "ks" if small else "wasserstein"
        else:
            method = "chisquare" if small else "jensenshannon"
        return Rule(method, DEFAULT_THRESHOLDS[method])

    def check(self, kinds: dict[str, str]) -> None:
        """Every override names a known column and a method that fits its kind."""
        problems = []
        for column, rule in self.overrides.items():
            if column not in kinds:
                problems.append(f"stattest.{column}: no such column in the profile")
            elif rule.method not in KIND_METHODS[kinds[column]]:
                allowed = ", ".join(sorted(KIND_METHODS[kinds[column]]))
                problems.append(
                    f"stattest.{column}: {rule.method} does not fit a {kinds[column]} column "
                    f"(use {allowed})"
                )
        if problems:
            raise ConfigError("drift policy", problems)


def parse_rule(spec: str) -> Rule:
    """``METHOD[:THRESHOLD]`` -> a rule (the default threshold when none is given).

    Raises ``ValueError`` for an unknown method or a threshold that is not a number.
    """
    method, _, threshold_text = spec.partition(":")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    threshold = float(threshold_text) if threshold_text else DEFAULT_THRESHOLDS[method]
    return Rule(method, threshold)


def make_policy(overrides: Iterable[str], drift_share: float = DEFAULT_DRIFT_SHARE) -> Policy:
    """Parse ``--stattest COL=METHOD[:THRESHOLD]`` overrides with the one ``KEY=VALUE``
    parser; every problem (and a ``drift_share`` outside (0, 1]) is reported at once as one
    :class:`AssignmentError`."""
    problems: list[str] = []
    rules: dict[str, Rule] = {}
    try:
        rules = parse_typed_assignments(
            list(overrides), parse_rule, option="--stattest", expected=_EXPECTED
        )
    except AssignmentError as exc:
        problems.extend(exc.problems)
    if not 0 < drift_share <= 1:
        problems.append(f"--drift-share {drift_share}: not in (0, 1]")
    if problems:
        raise AssignmentError(problems, hint="e.g. --stattest age=psi:0.2")
    return Policy(drift_share=drift_share, overrides=rules)


_EXPECTED = "METHOD[:THRESHOLD] with METHOD one of " + ", ".join(METHODS)
