"""Tags and descriptions of versions and registered models."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from harness.store.registry import Registry
from registry_tools.errors import RegistryError

__all__ = ["TagChange", "describe", "remove_tags", "set_tags"]


@dataclass(frozen=True)
class TagChange:
    """The result (or plan) of a tag or description change."""

    name: str
    version: str | None  # None: the registered model itself
    set: dict[str, str]
    removed: list[str]
    description: str | None
    dry_run: bool

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _current_tags(registry: Registry, name: str, version: str | None) -> dict[str, str]:
    if version is None:
        return dict(registry.get_model(name).tags)
    return dict(registry.get_version(name, version).tags)


def set_tags(
    registry: Registry,
    name: str,
    version: str | None,
    tags: Mapping[str, str],
    *,
    dry_run: bool = False,
) -> TagChange:
    """Set tags on a version (or on the model when ``version`` is None)."""
    _current_tags(registry, name, version)  # unknown model/version fails before any write
    if not dry_run:
        for key, value in tags.items():
            if version is None:
                registry.set_model_tag(name, key, value)
            else:
                registry.set_version_tag(name, version, key, value)
    return TagChange(name, version, dict(tags), [], None, dry_run)


def remove_tags(
    registry: Registry, name: str, version: str | None, keys: list[str], *, dry_run: bool = False
) -> TagChange:
    """Remove tags; a key that is not set is a ``RegistryError`` and nothing is removed."""
    current = _current_tags(registry, name, version)
    missing = [key for key in keys if key not in current]
    if missing:
        where = f"version {version} of {name!r}" if version else f"model {name!r}"
        raise RegistryError(f"{where} has no tag {', '.join(map(repr, missing))}")
    if not dry_run:
        for key in keys:
            if version is None:
                registry.delete_model_tag(name, key)
            else:
                registry.delete_version_tag(name, version, key)
    return TagChange(name, version, {}, list(keys), None, dry_run)


def describe(
    registry: Registry, name: str, version: str | None, text: str, *, dry_run: bool = False
) -> TagChange:
    """Set the description of a version (or of the model when ``version`` is None)."""
    _current_tags(registry, name, version)
    if not dry_run:
        if version is None:
            registry.describe_model(name, text)
        else:
            registry.describe_version(name, version, text)
    return TagChange(name, version, {}, [], text, dry_run)
