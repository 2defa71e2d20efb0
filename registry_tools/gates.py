"""Promotion gates: a tiny grammar, parsed with regular expressions and never ``eval``ed.

    gate    := metric OP operand
    operand := number | alias "." metric
    OP      := ">=" | ">" | "<=" | "<" | "==" | "!="

``metric`` is an MLflow metric name (letters, digits, ``_ . - /``, not starting with a digit);
``alias`` is an MLflow alias (letters, digits, ``_ -``; aliases cannot contain a dot, so
``champion.f1`` is unambiguous). The left side is always the candidate's metric.
Examples: ``accuracy>=0.9``, ``f1 >= champion.f1``, ``log_loss<champion.log_loss``.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

from registry_tools.errors import RegistryError

__all__ = [
    "OPERATORS",
    "Gate",
    "GateResult",
    "Subject",
    "check",
    "metric_of",
    "parse_gate",
    "parse_gates",
    "referenced_aliases",
]

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
_SPACE = re.compile(r"\s*")
_METRIC = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*")
_OP = re.compile(r">=|<=|==|!=|>|<")
_ALIAS_METRIC = re.compile(r"([A-Za-z0-9_\-]+)\.([A-Za-z_][A-Za-z0-9_.\-/]*)")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


@dataclass(frozen=True)
class Gate:
    """One parsed gate: ``metric op number`` or ``metric op alias.ref_metric``."""

    metric: str
    op: str
    number: float | None = None
    alias: str | None = None
    ref_metric: str | None = None

    @property
    def text(self) -> str:
        """The canonical spelling (no spaces), used in tables and the audit trail."""
        right = f"{self.alias}.{self.ref_metric}" if self.alias else _format_number(self.number)
        return f"{self.metric}{self.op}{right}"


@dataclass(frozen=True)
class GateResult:
    """The outcome of one gate; ``skipped`` gates (no holder to compare with) count as passed."""

    gate: str
    candidate: float
    reference: float | None
    against: str  # "constant", or "champion (v3)"
    passed: bool
    skipped: bool = False

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> GateResult:
        reference = data.get("reference")
        return cls(
            gate=str(data["gate"]),
            candidate=float(str(data["candidate"])),
            reference=None if reference is None else float(str(reference)),
            against=str(data.get("against", "")),
            passed=bool(data["passed"]),
            skipped=bool(data.get("skipped", False)),
        )


@dataclass(frozen=True)
class Subject:
    """Something with metrics to compare: the candidate or an alias holder."""

    label: str  # for errors, e.g. "version 3 of 'rf'"
    short: str  # for tables, e.g. "v3"
    metrics: Mapping[str, float]


def _format_number(value: float | None) -> str:
    return "" if value is None else repr(float(value))  # shortest text that reads back exactly


def _fail(text: str, column: int, expected: str) -> RegistryError:
    found = text[column : column + 10] or "end of gate"
    return RegistryError(
        f"malformed gate {text!r}: expected {expected} at column {column + 1}, found {found!r}",
        hint="syntax: METRIC OP NUMBER or METRIC OP ALIAS.METRIC, OP one of >= > <= < == !=",
    )


def parse_gate(text: str) -> Gate:
    """Parse one gate expression; raises ``RegistryError`` naming the column of the problem."""
    pos = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    metric = _METRIC.match(text, pos)
    if metric is None:
        raise _fail(text, pos, "a metric name")
    pos = _SPACE.match(text, metric.end()).end()  # type: ignore[union-attr]
    op = _OP.match(text, pos)
    if op is None:
        raise _fail(text, pos, "a comparison (>= > <= < == !=)")
    pos = _SPACE.match(text, op.end()).end()  # type: ignore[union-attr]
    gate: Gate
    ref = _ALIAS_METRIC.match(text, pos)
    number = _NUMBER.match(text, pos)
    if ref is not None:
        gate = Gate(metric.group(), op.group(), alias=ref.group(1), ref_metric=ref.group(2))
        end = ref.end()
    elif number is not None:
        value = float(number.group())
        if not math.isfinite(value):  # pragma: no cover - the regex admits finite numbers only
            raise _fail(text, pos, "a finite number")
        gate = Gate(metric.group(), op.group(), number=value)
        end = number.end()
    else:
        raise _fail(text, pos, "a number or ALIAS.METRIC")
    end = _SPACE.match(text, end).end()  # type: ignore[union-attr]
    if end != len(text):
        raise _fail(text, end, "the end of the gate")
    return gate


def parse_gates(texts: list[str]) -> list[Gate]:
    """Parse every gate; the first malformed one raises."""
    return [parse_gate(text) for text in texts]


def metric_of(subject: Subject, metric: str) -> float:
    """A subject's metric, or a clear error listing the metrics it has."""
    if metric not in subject.metrics:
        available = ", ".join(sorted(subject.metrics)) or "none"
        raise RegistryError(f"metric {metric!r} missing on {subject.label}; available: {available}")
    return float(subject.metrics[metric])


def check(gate: Gate, candidate: Subject, references: Mapping[str, Subject | None]) -> GateResult:
    """Evaluate one gate. ``references`` maps each alias the gate names to its holder.

    A gate against an alias nobody holds yet (the very first champion) is skipped and counts
    as passed: there is nothing to be better than.
    """
    left = metric_of(candidate, gate.metric)
    compare = OPERATORS[gate.op]
    if gate.alias is None:
        assert gate.number is not None
        return GateResult(gate.text, left, gate.number, "constant", compare(left, gate.number))
    holder = references.get(gate.alias)
    if holder is None:
        return GateResult(gate.text, left, None, f"{gate.alias} (no holder)", True, skipped=True)
    assert gate.ref_metric is not None
    right = metric_of(holder, gate.ref_metric)
    return GateResult(
        gate.text, left, right, f"{gate.alias} ({holder.short})", compare(left, right)
    )


def referenced_aliases(gates: list[Gate]) -> list[str]:
    """The aliases the gates compare against, in first-mention order."""
    seen: dict[str, None] = {}
    for gate in gates:
        if gate.alias is not None:
            seen.setdefault(gate.alias, None)
    return list(seen)
