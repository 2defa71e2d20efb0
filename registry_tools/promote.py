"""Gated promotion: move an alias to a candidate only when the evidence says so.

:func:`promote` is the one promotion operation (``registry promote``, the demo and the
concurrency tests all call it): plan and gates, then, if every gate passed, the move under
the alias lock with its compare-and-set and audit record. ``plan`` reads the candidate
(holder of ``--from`` or ``--version``), the current holder of ``--to`` and every alias the
gates name, optionally scores them on the same data, and evaluates every gate. ``apply``
moves the alias under its lock, but only if every alias the decision was based on still has
the holder the plan saw (see ``moves.py``); otherwise the promotion is refused with
``PromotionConflict`` and nothing changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.store.registry import Registry
from registry_tools import evaluation, moves
from registry_tools.audit import AuditRecord
from registry_tools.errors import GateError, PromotionConflict, RegistryError
from registry_tools.evaluation import ModelType
from registry_tools.gates import GateResult, Subject, check, parse_gates, referenced_aliases
from registry_tools.lineage import run_metrics
from registry_tools.stages import alias_or_stage

__all__ = [
    "Promotion",
    "PromotionPlan",
    "PromotionRequest",
    "apply",
    "check_alias_name",
    "gate_failure",
    "plan",
    "promote",
]

_ALIAS = re.compile(r"[A-Za-z0-9_\-]+")
_RESERVED = re.compile(r"(latest|v\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class PromotionRequest:
    """What the user asked for."""

    name: str
    to_alias: str | None  # None: the alias ``stage`` maps to
    gates: list[str]
    from_alias: str | None = None
    version: str | None = None
    evaluate: Path | None = None
    target: str = "target"
    expect_version: str | None = None  # refuse unless ``to_alias`` is held by this version
    stage: str | None = None  # deprecated spelling of ``to_alias`` (Staging, Production)
    model_type: ModelType | None = None  # for --evaluate; None: taken from the model


@dataclass(frozen=True)
class PromotionPlan:
    """The decision: candidate, current holder, every gate result."""

    name: str
    alias: str
    candidate: str
    current: str | None
    references: dict[str, str | None]
    results: list[GateResult]
    evaluation: dict[str, str] = field(default_factory=dict)  # version -> evaluation run id

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def noop(self) -> bool:
        return self.current == self.candidate

    @property
    def failing(self) -> list[GateResult]:
        return [result for result in self.results if not result.passed]

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "alias": self.alias,
            "candidate": self.candidate,
            "current": self.current,
            "references": self.references,
            "gates": [r.to_dict() for r in self.results],
            "passed": self.passed,
            "noop": self.noop,
            "evaluation": self.evaluation,
        }


@dataclass(frozen=True)
class Promotion:
    """The outcome of :func:`promote`: applied (with its audit ``record``), planned only
    (dry run), a no-op (the candidate holds the alias already), or refused by its gates."""

    plan: PromotionPlan
    applied: bool
    record: AuditRecord | None
    dry_run: bool = False
    notes: tuple[str, ...] = ()  # e.g. the --stage deprecation note

    @property
    def refused(self) -> bool:
        return not self.plan.passed

    def refusal(self) -> GateError | None:
        """The error a refused promotion exits with (3), None when the gates passed."""
        return gate_failure(self.plan) if self.refused else None

    def to_dict(self) -> dict[str, object]:
        return {
            **self.plan.to_dict(),
            "applied": self.applied,
            "audit": self.record.to_dict() if self.record else None,
            "dry_run": self.dry_run,
        }


def check_alias_name(alias: str, option: str) -> None:
    """Reject an alias MLflow would reject, before anything is read or scored."""
    if not _ALIAS.fullmatch(alias) or _RESERVED.fullmatch(alias):
        raise RegistryError(
            f"{option} {alias!r} is not a valid alias",
            hint="letters, digits, _ and -; not 'latest' or v<number>",
        )


def _candidate(registry: Registry, request: PromotionRequest, holders: dict[str, str]) -> str:
    if (request.from_alias is None) == (request.version is None):
        raise RegistryError("give exactly one of --from ALIAS and --version N")
    if request.version is not None:
        return str(registry.get_version(request.name, request.version).version)
    assert request.from_alias is not None
    holder = holders.get(request.from_alias)
    if holder is None:
        raise RegistryError(f"model {request.name!r} has no alias {request.from_alias!r}")
    return holder


def _subject(name: str, version: str, metrics: dict[str, float]) -> Subject:
    return Subject(f"version {version} of {name!r}", f"v{version}", metrics)


def plan(registry: Registry, request: PromotionRequest) -> PromotionPlan:
    """Read everything the decision needs and evaluate every gate; changes nothing
    (except that ``--evaluate`` logs its scoring runs)."""
    to_alias = request.to_alias
    if to_alias is None:
        raise RegistryError("give --to ALIAS (or --stage Staging|Production)")
    check_alias_name(to_alias, "--to")
    gates = parse_gates(request.gates)
    if not gates:
        raise RegistryError("no --gate given", hint="promotion needs at least one gate")
    model = registry.get_model(request.name)
    holders = {str(a): str(v) for a, v in model.aliases.items()}
    candidate = _candidate(registry, request, holders)
    current = holders.get(to_alias)
    if request.expect_version is not None and current != request.expect_version:
        raise PromotionConflict(
            f"alias {to_alias!r} of {request.name!r} is held by "
            f"{'version ' + current if current else 'no version'}, "
            f"not version {request.expect_version}; nothing changed",
            hint="re-run without --expect-version or with the current holder",
        )
    references = {alias: holders.get(alias) for alias in referenced_aliases(gates)}

    versions = {candidate} | {v for v in references.values() if v is not None}
    if current is not None:
        versions.add(current)
    metrics: dict[str, dict[str, float]] = {}
    runs: dict[str, str] = {}
    for version in sorted(versions, key=int):
        if request.evaluate is not None:
            scored = evaluation.score(
                registry,
                request.name,
                version,
                request.evaluate,
                request.target,
                model_type=request.model_type,
            )
            metrics[version], runs[version] = scored.metrics, scored.run_id
        else:
            run_id = registry.get_version(request.name, version).run_id
            metrics[version] = run_metrics(registry, run_id or None)

    subjects = {
        alias: None if v is None else _subject(request.name, v, metrics[v])
        for alias, v in references.items()
    }
    candidate_subject = _subject(request.name, candidate, metrics[candidate])
    results = [check(gate, candidate_subject, subjects) for gate in gates]
    return PromotionPlan(request.name, to_alias, candidate, current, references, results, runs)


def apply(registry: Registry, decided: PromotionPlan) -> AuditRecord:
    """Move the alias as planned; refuses (PromotionConflict) if any holder changed since."""
    expected = dict(decided.references)
    expected[decided.alias] = decided.current
    return moves.apply(
        registry,
        moves.Move(
            decided.name,
            decided.alias,
            "promote",
            decided.candidate,
            expected,
            gates=tuple(decided.results),
            evaluation=decided.evaluation or None,
        ),
    )


def gate_failure(decided: PromotionPlan) -> GateError:
    """The error for a plan whose gates failed: every failing gate, one line."""
    failing = "; ".join(
        f"{r.gate} ({r.candidate:g} vs {r.reference:g})" if r.reference is not None else r.gate
        for r in decided.failing
    )
    return GateError(
        f"promotion of version {decided.candidate} of {decided.name!r} to "
        f"{decided.alias!r} refused: {len(decided.failing)} of {len(decided.results)} "
        f"gate(s) failed: {failing}; nothing changed"
    )


def promote(registry: Registry, request: PromotionRequest, *, dry_run: bool = False) -> Promotion:
    """The promotion: plan and gates, then (unless refused, a no-op or ``dry_run``) move the
    alias under its lock with the compare-and-set and the audit record.

    A refused promotion is returned, not raised (its ``refusal()`` is the ``GateError``,
    exit 3), so that the caller can show every gate first; a lost race raises
    ``PromotionConflict`` (exit 1). Nothing changes unless the promotion is applied.
    """
    notes: tuple[str, ...] = ()
    if request.stage is not None:
        to_alias, note = alias_or_stage(request.to_alias, request.stage, "--to")
        request = replace(request, to_alias=to_alias, stage=None)
        notes = (note,) if note else ()
    decided = plan(registry, request)
    if decided.passed and not decided.noop and not dry_run:
        return Promotion(decided, True, apply(registry, decided), False, notes)
    return Promotion(decided, False, None, dry_run, notes)
