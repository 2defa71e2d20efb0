"""The registry operations: what ``mlharness registry ...`` does, one function a command.

As DVC's ``Repo`` binds its operations, this module binds each registry operation to a
store: it opens the typed registry facade (``harness.store.registry.Registry``) at
``tracking_uri`` (None: MLflow's default) and calls the module that holds the logic
(``versions``, ``catalog``, ``tags``, ``aliases``, ``promote``, ``rollback``). Each returns
a typed result with ``to_dict()``; none prints. ``registry_tools/cli.py`` calls only these;
DAG tasks, the demo and the tests, which already hold a ``Registry``, call the modules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from harness.store.registry import Registry
from registry_tools import aliases, catalog, tags, versions
from registry_tools import promote as promotion
from registry_tools import rollback as rollbacks
from registry_tools.aliases import AliasChange
from registry_tools.catalog import ModelSummary, ModelView
from registry_tools.promote import Promotion, PromotionRequest
from registry_tools.rollback import Rollback
from registry_tools.tags import TagChange
from registry_tools.versions import Registration

__all__ = [
    "AliasChange",
    "ModelSummary",
    "ModelView",
    "Promotion",
    "PromotionRequest",
    "Registration",
    "Rollback",
    "TagChange",
    "describe",
    "list_models",
    "promote",
    "register",
    "remove_alias",
    "remove_tags",
    "rollback",
    "set_alias",
    "set_tags",
    "show",
]


def register(
    source: str,
    name: str,
    *,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    alias: str | None = None,
    stage: str | None = None,
    timeout_s: float = versions.READY_TIMEOUT_S,
    dry_run: bool = False,
    tracking_uri: str | None = None,
) -> Registration:
    """Register ``source`` as a version of ``name`` (idempotent) and wait until READY."""
    return versions.register(
        Registry(tracking_uri),
        source,
        name,
        tags=tags,
        description=description,
        alias=alias,
        stage=stage,
        dry_run=dry_run,
        timeout_s=timeout_s,
    )


def list_models(*, tracking_uri: str | None = None) -> list[ModelSummary]:
    """Every registered model (the promotion locks left out), by name."""
    return catalog.list_models(Registry(tracking_uri))


def show(
    name: str,
    *,
    version: str | None = None,
    stage: str | None = None,
    tracking_uri: str | None = None,
) -> ModelView:
    """A model's versions (or one) with aliases, tags, run metrics and manifest lineage."""
    return catalog.show(Registry(tracking_uri), name, version, stage)


def set_tags(
    name: str,
    version: str,
    values: Mapping[str, str],
    *,
    dry_run: bool = False,
    tracking_uri: str | None = None,
) -> TagChange:
    """Set tags on a model version."""
    return tags.set_tags(Registry(tracking_uri), name, version, values, dry_run=dry_run)


def remove_tags(
    name: str,
    version: str,
    keys: Sequence[str],
    *,
    dry_run: bool = False,
    tracking_uri: str | None = None,
) -> TagChange:
    """Remove tags from a model version (a key that is not set removes nothing)."""
    return tags.remove_tags(Registry(tracking_uri), name, version, list(keys), dry_run=dry_run)


def describe(
    name: str,
    text: str,
    *,
    version: str | None = None,
    dry_run: bool = False,
    tracking_uri: str | None = None,
) -> TagChange:
    """Set the description of a registered model, or of one of its versions."""
    return tags.describe(Registry(tracking_uri), name, version, text, dry_run=dry_run)


def set_alias(
    name: str,
    alias: str,
    version: str,
    *,
    dry_run: bool = False,
    tracking_uri: str | None = None,
) -> AliasChange:
    """Point ``alias`` at ``version`` (locked, audited)."""
    return aliases.set_alias(Registry(tracking_uri), name, alias, version, dry_run=dry_run)


def remove_alias(
    name: str, alias: str, *, dry_run: bool = False, tracking_uri: str | None = None
) -> AliasChange:
    """Remove ``alias`` (audited, so that rollback can restore it)."""
    return aliases.remove_alias(Registry(tracking_uri), name, alias, dry_run=dry_run)


def promote(
    request: PromotionRequest, *, dry_run: bool = False, tracking_uri: str | None = None
) -> Promotion:
    """Move an alias to the candidate if every gate passes (a refusal is returned, with
    ``refusal()`` the ``GateError`` to raise once the gates are shown)."""
    return promotion.promote(Registry(tracking_uri), request, dry_run=dry_run)


def rollback(
    name: str,
    *,
    alias: str | None = None,
    stage: str | None = None,
    dry_run: bool = False,
    tracking_uri: str | None = None,
) -> Rollback:
    """Move ``alias`` back to its previous holder, as recorded in the audit trail."""
    return rollbacks.rollback(Registry(tracking_uri), name, alias, stage=stage, dry_run=dry_run)
