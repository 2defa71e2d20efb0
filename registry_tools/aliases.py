"""Set and remove aliases by hand, with the same lock and audit trail as a promotion."""

from __future__ import annotations

from dataclasses import dataclass

from harness.store.registry import Registry
from registry_tools import moves
from registry_tools.audit import AuditRecord
from registry_tools.errors import RegistryError

__all__ = ["AliasChange", "remove_alias", "set_alias"]


@dataclass(frozen=True)
class AliasChange:
    """The result (or plan) of an alias change; ``record`` is None for a dry run or no-op."""

    name: str
    alias: str
    version: str | None
    previous: str | None
    changed: bool
    dry_run: bool
    record: AuditRecord | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "alias": self.alias,
            "version": self.version,
            "previous": self.previous,
            "changed": self.changed,
            "dry_run": self.dry_run,
            "audit": self.record.to_dict() if self.record else None,
        }


def set_alias(
    registry: Registry, name: str, alias: str, version: str, *, dry_run: bool = False
) -> AliasChange:
    """Point ``alias`` at ``version`` (which must exist); a no-op if it already does."""
    registry.get_version(name, version)
    previous = registry.holder(name, alias)
    if previous == str(version) or dry_run:
        return AliasChange(name, alias, str(version), previous, previous != str(version), dry_run)
    record = moves.apply(registry, moves.Move(name, alias, "set", str(version), expected={}))
    return AliasChange(name, alias, str(version), record.previous, True, False, record)


def remove_alias(
    registry: Registry, name: str, alias: str, *, dry_run: bool = False
) -> AliasChange:
    """Remove ``alias``; an alias nobody holds is a ``RegistryError``."""
    previous = registry.holder(name, alias)
    if previous is None:
        raise RegistryError(f"model {name!r} has no alias {alias!r}")
    if dry_run:
        return AliasChange(name, alias, None, previous, True, True)
    record = moves.apply(registry, moves.Move(name, alias, "remove", None, expected={}))
    return AliasChange(name, alias, None, record.previous, True, False, record)
