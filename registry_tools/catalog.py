"""Read-only views for ``list`` and ``show``: models, versions with lineage, audit trails."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from harness.store.registry import Registry
from registry_tools import audit, versions
from registry_tools.audit import AuditRecord
from registry_tools.errors import RegistryError
from registry_tools.lineage import Lineage, lineage
from registry_tools.lock import is_lock_model
from registry_tools.stages import stage_target

__all__ = ["ModelSummary", "ModelView", "list_models", "show"]


@dataclass(frozen=True)
class ModelSummary:
    """One line of ``list``."""

    name: str
    versions: int
    latest: str
    aliases: dict[str, str]
    description: str
    updated: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def list_models(registry: Registry) -> list[ModelSummary]:
    """Every registered model (lock models hidden), by name."""
    out = []
    for model in sorted(registry.list_models(), key=lambda m: m.name):
        if is_lock_model(model.name):
            continue
        numbers = [int(v.version) for v in registry.versions(model.name)]
        out.append(
            ModelSummary(
                name=model.name,
                versions=len(numbers),
                latest=str(max(numbers)) if numbers else "-",
                aliases={str(a): str(v) for a, v in model.aliases.items()},
                description=model.description or "",
                updated=versions.iso_ms(model.last_updated_timestamp),
            )
        )
    return out


@dataclass(frozen=True)
class ModelView:
    """What ``show`` prints: versions with lineage, and the audit trail of every alias."""

    name: str
    versions: list[Lineage]
    audit: list[AuditRecord]
    notes: tuple[str, ...] = ()  # e.g. the --stage deprecation note (not part of the JSON)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "versions": [v.to_dict() for v in self.versions],
            "audit": [r.to_dict() for r in self.audit],
        }


def show(
    registry: Registry, name: str, version: str | None = None, stage: str | None = None
) -> ModelView:
    """One model: all versions (or one, or those in a legacy stage) with their lineage."""
    target = None if stage is None else stage_target(stage)
    model = registry.get_model(name)
    if version is not None:
        infos = [versions.get(registry, name, version, model)]
    else:
        infos = versions.all_versions(registry, name, model)
    if target is not None:
        infos = [i for i in infos if i.stage == target.stage]
        if version is not None and not infos:
            raise RegistryError(f"version {version} of {name!r} is not in stage {target.stage}")
    aliases = sorted(
        {k.split(".")[2] for k in model.tags if k.startswith(f"{audit.PREFIX}.audit.")}
    )
    records = sorted(
        (r for alias in aliases for r in audit.trail(alias, model.tags, model=name)),
        key=lambda r: (r.alias, r.seq),
    )
    notes = (target.note,) if target is not None else ()
    return ModelView(name, [lineage(registry, info) for info in infos], records, notes)
