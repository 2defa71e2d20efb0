"""Compare two manifests (the original run and its replay), value by value.

Parameters, source tree, environment, input and artifact digests must be equal;
metrics must be equal too unless a relative tolerance is given for that metric.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from harness.kernel.assignments import parse_typed_assignments
from harness.kernel.errors import ParamError

if TYPE_CHECKING:
    from harness.schemas.manifest import RunManifest

__all__ = [
    "DIFFERS",
    "SAME",
    "WITHIN",
    "Row",
    "check_rtol_names",
    "compare",
    "identical",
    "parse_rtols",
]

SAME = "same"
WITHIN = "within rtol"
DIFFERS = "differs"


@dataclass(frozen=True)
class Row:
    """One compared value."""

    section: str
    name: str
    original: Any
    replay: Any
    status: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _tolerance(text: str) -> float:
    value = float(text)
    if not value >= 0 or math.isinf(value):
        raise ValueError(text)
    return value


def parse_rtols(pairs: Sequence[str]) -> dict[str, float]:
    """``["accuracy=1e-6"]`` -> ``{"accuracy": 1e-06}``, through the one KEY=VALUE parser:
    every bad pair is reported at once as an ``AssignmentError`` (exit 2)."""
    return parse_typed_assignments(
        pairs, _tolerance, option="--rtol", expected="a number >= 0", hint="--rtol METRIC=TOL"
    )


def check_rtol_names(rtols: dict[str, float], *manifests: RunManifest) -> None:
    """Refuse tolerances for metrics that none of the manifests has (before any replay)."""
    known = {name for doc in manifests for name in doc.metrics}
    unknown = sorted(set(rtols) - known)
    if unknown:
        raise ParamError(
            [f"--rtol names unknown metric {name!r}" for name in unknown],
            hint=f"metrics: {', '.join(sorted(known)) or 'none'}",
        )


def _row(section: str, name: str, a: Any, b: Any) -> Row:
    return Row(section, name, a, b, SAME if a == b else DIFFERS)


def _rows(section: str, original: Mapping[str, Any], replay: Mapping[str, Any]) -> list[Row]:
    return [
        _row(section, name, original.get(name), replay.get(name))
        for name in sorted(set(original) | set(replay))
    ]


def _metric_row(name: str, a: Any, b: Any, rtol: float | None) -> Row:
    if a == b:
        return Row("metrics", name, a, b, SAME)
    numeric = isinstance(a, int | float) and isinstance(b, int | float)
    if rtol is not None and numeric and math.isclose(a, b, rel_tol=rtol, abs_tol=0.0):
        return Row("metrics", name, a, b, WITHIN)
    return Row("metrics", name, a, b, DIFFERS)


def compare(
    original: RunManifest, replay: RunManifest, rtols: dict[str, float] | None = None
) -> list[Row]:
    """Every compared value of two manifests, original first."""
    rtols = rtols or {}
    check_rtol_names(rtols, original, replay)
    src_a, src_b = original.source, replay.source
    rows = [
        _row("source", "commit", src_a.commit, src_b.commit),
        _row("source", "tree_digest", src_a.tree_digest, src_b.tree_digest),
    ]
    spec_a, spec_b = original.run_spec, replay.run_spec
    rows.append(_row("run_spec", "entry_point", spec_a.entry_point, spec_b.entry_point))
    rows += _rows("params", spec_a.parameters, spec_b.parameters)
    metrics_a, metrics_b = original.metrics, replay.metrics
    rows += [
        _metric_row(name, metrics_a.get(name), metrics_b.get(name), rtols.get(name))
        for name in sorted(set(metrics_a) | set(metrics_b))
    ]
    rows += _rows("outputs", original.outputs, replay.outputs)
    rows += _rows(
        "inputs",
        {k: v.digest for k, v in original.inputs.items()},
        {k: v.digest for k, v in replay.inputs.items()},
    )
    env_a, env_b = original.environment, replay.environment
    rows += [
        _row("environment", "python", env_a.python, env_b.python),
        _row("environment", "platform", env_a.platform, env_b.platform),
        _row("environment", "lock_digest", env_a.lock_digest, env_b.lock_digest),
    ]
    return rows


def identical(rows: list[Row]) -> bool:
    """True when nothing differs beyond the given tolerances."""
    return all(row.status != DIFFERS for row in rows)
