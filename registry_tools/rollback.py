"""Roll an alias back to the holder it had before, as recorded in the audit trail."""

from __future__ import annotations

from dataclasses import dataclass

from harness.store.registry import Registry
from registry_tools import audit, moves
from registry_tools.audit import AuditRecord
from registry_tools.errors import RegistryError
from registry_tools.stages import alias_or_stage

__all__ = ["Rollback", "plan_rollback", "rollback"]


@dataclass(frozen=True)
class Rollback:
    """The result (or plan) of a rollback."""

    name: str
    alias: str
    current: str | None
    target: str
    dry_run: bool
    record: AuditRecord | None
    notes: tuple[str, ...] = ()  # e.g. the --stage deprecation note (not part of the JSON)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "alias": self.alias,
            "current": self.current,
            "target": self.target,
            "dry_run": self.dry_run,
            "audit": self.record.to_dict() if self.record else None,
        }


def plan_rollback(registry: Registry, name: str, alias: str) -> tuple[str | None, str]:
    """(current holder, version to roll back to), checked against the audit trail."""
    model = registry.get_model(name)
    current = model.aliases.get(alias)
    current = None if current is None else str(current)
    records = audit.trail(alias, model.tags, model=name)
    if not records:
        raise RegistryError(
            f"alias {alias!r} of {name!r} has no audit trail to roll back",
            hint="it was never changed through mlharness registry",
        )
    state = audit.replay(records)
    if state.holder != current:
        raise RegistryError(
            f"alias {alias!r} of {name!r} is held by {current or 'no version'} but its audit "
            f"trail ends at {state.holder or 'no version'}: it was moved outside mlharness",
            hint=f"set it explicitly with: mlharness registry alias set {name} {alias} VERSION",
        )
    if not state.undo or state.undo[-1] is None:
        raise RegistryError(
            f"alias {alias!r} of {name!r} has no earlier holder to roll back to",
            hint=f"remove it with: mlharness registry alias rm {name} {alias}",
        )
    target = state.undo[-1]
    registry.get_version(name, target)  # a deleted version cannot hold the alias again
    return current, target


def rollback(
    registry: Registry,
    name: str,
    alias: str | None,
    *,
    stage: str | None = None,
    dry_run: bool = False,
) -> Rollback:
    """Move ``alias`` (or the alias ``stage`` maps to) back to its previous holder; the
    rollback is itself audited."""
    alias, note = alias_or_stage(alias, stage, "--alias")
    notes = (note,) if note else ()
    current, target = plan_rollback(registry, name, alias)
    if dry_run:
        return Rollback(name, alias, current, target, True, None, notes)
    record = moves.apply(
        registry, moves.Move(name, alias, "rollback", target, expected={alias: current})
    )
    return Rollback(name, alias, current, target, False, record, notes)
