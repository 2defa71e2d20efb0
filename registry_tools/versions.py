"""Register a model version idempotently and wait until it is READY; describe versions.

Registering the same model (same logged model, or same run artifact path) under the same
name returns the version that already holds it instead of adding a duplicate.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from harness.kernel.errors import ExternalServiceError
from harness.store.registry import Registry
from registry_tools import aliases, sources
from registry_tools.aliases import AliasChange
from registry_tools.errors import RegistryError
from registry_tools.sources import ResolvedSource
from registry_tools.stages import stage_of, stage_target

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion, RegisteredModel

__all__ = [
    "READY_TIMEOUT_S",
    "Registration",
    "VersionInfo",
    "all_versions",
    "find_existing",
    "get",
    "iso_ms",
    "register",
    "version_info",
    "wait_ready",
]

READY_TIMEOUT_S = 300.0
_POLL_S = 0.5


@dataclass(frozen=True)
class VersionInfo:
    """One model version as shown by ``list``/``show`` and returned by ``register``."""

    name: str
    version: str
    status: str
    source: str
    run_id: str | None
    aliases: list[str]
    tags: dict[str, str]
    description: str
    created: str
    stage: str | None  # the legacy stage its aliases/tags map to; None: no stage

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def iso_ms(timestamp_ms: int | None) -> str:
    if not timestamp_ms:
        return ""
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).isoformat(timespec="seconds")


def version_info(version: ModelVersion, aliases: Mapping[str, str] | None = None) -> VersionInfo:
    """Describe a version. ``aliases`` (alias -> version) fills in what the search API omits."""
    names = sorted(version.aliases or [])
    if aliases is not None:
        names = sorted(a for a, v in aliases.items() if str(v) == str(version.version))
    tags = {str(k): str(v) for k, v in (version.tags or {}).items()}
    return VersionInfo(
        name=version.name,
        version=str(version.version),
        status=str(version.status),
        source=str(version.source),
        run_id=version.run_id or None,
        aliases=names,
        tags=tags,
        description=version.description or "",
        created=iso_ms(version.creation_timestamp),
        stage=stage_of(names, tags),
    )


def get(
    registry: Registry, name: str, version: str | int, model: RegisteredModel | None = None
) -> VersionInfo:
    """One version, with its aliases (from ``model`` when the caller has read it already);
    an unknown model or version is a ``RegistryError``."""
    found = registry.get_version(name, version)
    model = model or registry.get_model(name)
    return version_info(found, _aliases(model.aliases))


def all_versions(
    registry: Registry, name: str, model: RegisteredModel | None = None
) -> list[VersionInfo]:
    """Every version of ``name``, newest first (aliases from ``model`` when given)."""
    found = registry.versions(name)
    model = model or registry.get_model(name)
    return [version_info(v, _aliases(model.aliases)) for v in found]


def _aliases(raw: Mapping[str, object]) -> dict[str, str]:
    return {str(alias): str(version) for alias, version in raw.items()}


def find_existing(registry: Registry, name: str, resolved: ResolvedSource) -> ModelVersion | None:
    """The version of the (existing) model ``name`` registered from the same model, if any."""
    for version in registry.versions(name):
        same_model = resolved.model_id is not None and (
            getattr(version, "model_id", None) == resolved.model_id
        )
        if same_model or version.source == resolved.source:
            return version
    return None


@dataclass(frozen=True)
class Registration:
    """The result (or, with ``dry_run``, the plan) of ``register``."""

    name: str
    source: ResolvedSource
    created: bool  # a new version was (or would be) created
    version: VersionInfo | None  # None only for a dry run that would create one
    dry_run: bool
    plan: list[str] = field(default_factory=list)
    alias: AliasChange | None = None  # the --alias (or --stage) change, when one was asked
    notes: list[str] = field(default_factory=list)  # e.g. the --stage deprecation note

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "source": asdict(self.source),
            "created": self.created,
            "version": self.version.to_dict() if self.version else None,
            "dry_run": self.dry_run,
            "plan": list(self.plan),
            "alias": self.alias.to_dict() if self.alias else None,
        }


def register(
    registry: Registry,
    source: str,
    name: str,
    *,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    alias: str | None = None,
    stage: str | None = None,
    dry_run: bool = False,
    timeout_s: float = READY_TIMEOUT_S,
) -> Registration:
    """Register SOURCE as a version of ``name`` (idempotent), wait until it is READY, and
    point ``alias`` at it (``stage``: the deprecated spelling of an alias or the archived
    tag)."""
    tags = dict(tags or {})
    notes: list[str] = []
    if stage is not None:
        target = stage_target(stage)
        notes.append(target.note)
        if target.tag is not None:
            tags[target.tag[0]] = target.tag[1]
        alias = target.alias or alias
    registered = _register(registry, source, name, tags, description, dry_run, timeout_s)
    plan = list(registered.plan)
    change = None
    version = registered.version
    if alias is not None and version is None:
        plan.append(f"set alias {alias!r} to the new version")
    elif alias is not None and version is not None:
        change = aliases.set_alias(registry, name, alias, version.version, dry_run=dry_run)
        if change.changed:
            plan.append(f"set alias {alias!r} to version {version.version}")
        if not dry_run:
            version = get(registry, name, version.version)
    return replace(registered, version=version, plan=plan, alias=change, notes=notes)


def _register(
    registry: Registry,
    source: str,
    name: str,
    tags: dict[str, str],
    description: str | None,
    dry_run: bool,
    timeout_s: float,
) -> Registration:
    resolved = sources.resolve(registry, source)
    model = registry.try_get_model(name)
    existing = None if model is None else find_existing(registry, name, resolved)
    if existing is not None:
        plan = [f"{source} is already version {existing.version} of {name!r}"]
        plan += [f"set tag {k}={v}" for k, v in tags.items() if existing.tags.get(k) != v]
        if description is not None and description != (existing.description or ""):
            plan.append("update the description")
        if not dry_run:
            for key, value in tags.items():
                registry.set_version_tag(name, str(existing.version), key, value)
            if description is not None:
                registry.describe_version(name, str(existing.version), description)
        info = get(registry, name, existing.version, model)
        return Registration(name, resolved, False, info, dry_run, plan)

    plan = []
    if model is None:
        plan.append(f"create registered model {name!r}")
    plan.append(f"create a version of {name!r} from {resolved.source} (run {resolved.run_id})")
    if dry_run:
        return Registration(name, resolved, True, None, True, plan)
    registry.create_model(name)  # False when it exists already (or was just created)
    created = registry.create_version(
        name, resolved.source, resolved.run_id, resolved.model_id, tags, description
    )
    wait_ready(registry, name, str(created.version), timeout_s)
    return Registration(name, resolved, True, get(registry, name, created.version), False, plan)


def wait_ready(registry: Registry, name: str, version: str, timeout_s: float) -> None:
    """Poll until the version is READY; FAILED is bad input, a timeout an external failure."""
    deadline = time.monotonic() + timeout_s
    while True:
        current = registry.get_version(name, version)
        status = str(current.status)
        if status == "READY":
            return
        if status == "FAILED_REGISTRATION":
            raise RegistryError(
                f"version {version} of {name!r} failed to register: {current.status_message}"
            )
        if time.monotonic() >= deadline:
            raise ExternalServiceError(
                f"version {version} of {name!r} still {status} after {timeout_s:g} s",
                hint="the registry is slow or stuck; raise --timeout or check the server",
            )
        time.sleep(_POLL_S)
