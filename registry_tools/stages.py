"""Compatibility with MLflow's deprecated model stages, mapped onto aliases and a tag.

MLflow deprecated stages (``transition_model_version_stage``) in favour of aliases. Teams
that still think in stages can pass ``--stage``: Staging and Production become the aliases
``staging`` and ``production``; Archived becomes the version tag ``archived=true``.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry_tools.errors import RegistryError

__all__ = [
    "ARCHIVED_TAG",
    "StageTarget",
    "alias_or_stage",
    "stage_alias",
    "stage_of",
    "stage_target",
]

ARCHIVED_TAG = "archived"
DEPRECATION_NOTE = (
    "note: model stages are deprecated in MLflow; --stage {stage} is mapped to {target}"
)


@dataclass(frozen=True)
class StageTarget:
    """Where a stage lands: an alias, or the ``archived`` tag."""

    stage: str
    alias: str | None = None
    tag: tuple[str, str] | None = None

    @property
    def description(self) -> str:
        if self.alias is not None:
            return f"alias {self.alias!r}"
        assert self.tag is not None
        return f"tag {self.tag[0]}={self.tag[1]}"

    @property
    def note(self) -> str:
        """The one-line deprecation note printed whenever ``--stage`` is used."""
        return DEPRECATION_NOTE.format(stage=self.stage, target=self.description)


_STAGES = {
    "staging": StageTarget("Staging", alias="staging"),
    "production": StageTarget("Production", alias="production"),
    "archived": StageTarget("Archived", tag=(ARCHIVED_TAG, "true")),
}


def stage_target(stage: str) -> StageTarget:
    """Map a stage name (any case) to its alias or tag."""
    target = _STAGES.get(stage.strip().lower())
    if target is None:
        raise RegistryError(f"unknown stage {stage!r}", hint="use Staging, Production or Archived")
    return target


def stage_alias(stage: str) -> str:
    """The alias a stage maps to; Archived has none (it is a tag, not a promotion target)."""
    target = stage_target(stage)
    if target.alias is None:
        raise RegistryError(
            f"stage {target.stage} is not an alias: it maps to {target.description}",
            hint="use --stage Archived with register, or tag set NAME VERSION archived=true",
        )
    return target.alias


def stage_of(aliases: list[str], tags: dict[str, str]) -> str | None:
    """The legacy stage a version would show, None when it has none (MLflow's ``"None"``
    stage): Production wins over Staging."""
    if "production" in aliases:
        return "Production"
    if "staging" in aliases:
        return "Staging"
    if tags.get(ARCHIVED_TAG) == "true":
        return "Archived"
    return None


def alias_or_stage(alias: str | None, stage: str | None, option: str) -> tuple[str, str | None]:
    """The alias ``option`` names, or the one a deprecated ``--stage`` maps to, with the
    deprecation note to show (None when no stage was given)."""
    note = None
    if stage is not None:
        note = stage_target(stage).note
        alias = alias or stage_alias(stage)
    if alias is None:
        raise RegistryError(f"give {option} ALIAS (or --stage Staging|Production)")
    return alias, note
