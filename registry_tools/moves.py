"""Move, set, remove or roll back an alias under its lock, writing the audit record.

The one code path that changes an alias: take the lock, check that every alias the caller
relied on still has the holder it saw (compare-and-set), write the trail record, move the
alias (retrying the unique violation a concurrent first-time set can cause), read it back,
then tag the new holder and bump the sequence number. If anything fails after the trail
record was written, the record is deleted and the alias put back.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from harness.kernel.errors import MlharnessError
from harness.store.registry import Registry
from registry_tools import audit
from registry_tools.audit import Action, AuditRecord
from registry_tools.errors import PromotionConflict
from registry_tools.gates import GateResult
from registry_tools.lock import alias_lock

__all__ = ["UNIQUE_RETRIES", "Move", "apply"]

UNIQUE_RETRIES = 5


@dataclass(frozen=True)
class Move:
    """What to do to one alias."""

    name: str
    alias: str
    action: Action
    version: str | None  # new holder; None removes the alias
    # alias -> holder the caller based its decision on; each must still hold under the lock
    expected: Mapping[str, str | None]
    gates: tuple[GateResult, ...] = ()
    evaluation: Mapping[str, str] | None = None


def apply(registry: Registry, move: Move) -> AuditRecord:
    """Apply ``move`` under the alias lock; returns the audit record written."""
    with alias_lock(registry, move.name, move.alias):
        model = registry.get_model(move.name)
        holders = {alias: str(v) for alias, v in model.aliases.items()}
        for alias, expected in move.expected.items():
            if holders.get(alias) != expected:
                raise PromotionConflict(
                    f"alias {alias!r} of {move.name!r} moved from {_v(expected)} to "
                    f"{_v(holders.get(alias))} while this {move.action} was being decided; "
                    "nothing changed",
                    hint="re-run to decide against the new holder",
                )
        previous = holders.get(move.alias)
        record = AuditRecord(
            seq=audit.last_seq(move.alias, model.tags) + 1,
            alias=move.alias,
            action=move.action,
            version=move.version,
            previous=previous,
            time=audit.now_iso(),
            user=audit.current_user(),
            gates=move.gates,
            evaluation=move.evaluation,
        )
        key = audit.trail_key(move.alias, record.seq)
        registry.set_model_tag(move.name, key, record.to_json())
        try:
            _move_alias(registry, move.name, move.alias, move.version)
            if move.version is not None:
                for tag, value in record.version_tags().items():
                    registry.set_version_tag(move.name, move.version, tag, value)
            registry.set_model_tag(move.name, audit.seq_key(move.alias), str(record.seq))
        except BaseException:
            _undo(registry, move.name, move.alias, previous, key)
            raise
        return record


def _v(version: str | None) -> str:
    return "no holder" if version is None else f"version {version}"


def _move_alias(registry: Registry, name: str, alias: str, version: str | None) -> None:
    if version is None:
        registry.delete_alias(name, alias)
    else:
        _set_alias(registry, name, alias, version)
    now = registry.holder(name, alias)
    if now != version:
        raise PromotionConflict(
            f"alias {alias!r} of {name!r} was overwritten by a writer outside mlharness "
            f"(expected {_v(version)}, found {_v(now)})",
            hint="change aliases only through mlharness registry",
        )


def _set_alias(registry: Registry, name: str, alias: str, version: str) -> None:
    """Set an alias, retrying the unique violation of a concurrent first-time set."""
    for attempt in range(UNIQUE_RETRIES):
        if registry.set_alias(name, alias, version):
            return
        time.sleep(0.1 * (attempt + 1))
    raise PromotionConflict(
        f"alias {alias!r} of {name!r} could not be set: {UNIQUE_RETRIES} concurrent "
        "first-time sets collided; nothing changed",
        hint="re-run the change",
    )


def _undo(registry: Registry, name: str, alias: str, previous: str | None, key: str) -> None:
    """Best effort: put the alias back and drop the trail record of the failed change."""
    try:
        if registry.holder(name, alias) != previous:
            if previous is None:
                registry.delete_alias(name, alias)
            else:
                _set_alias(registry, name, alias, previous)
        registry.delete_model_tag(name, key)
    except MlharnessError:
        pass  # the original error is the one to report
