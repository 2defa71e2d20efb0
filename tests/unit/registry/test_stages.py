"""Deprecated stages map to aliases and a tag, with a one-line note."""

from __future__ import annotations

import pytest

from registry_tools.errors import RegistryError
from registry_tools.stages import stage_alias, stage_of, stage_target


@pytest.mark.parametrize(
    "stage,alias,tag",
    [
        ("Staging", "staging", None),
        ("production", "production", None),
        ("PRODUCTION", "production", None),
        ("Archived", None, ("archived", "true")),
    ],
)
def test_stage_targets(stage: str, alias: str | None, tag: tuple[str, str] | None) -> None:
    target = stage_target(stage)
    assert (target.alias, target.tag) == (alias, tag)
    assert target.note.startswith("note: model stages are deprecated in MLflow")
    assert "\n" not in target.note


def test_stage_alias_refuses_archived_and_unknown() -> None:
    assert stage_alias("Staging") == "staging"
    with pytest.raises(RegistryError, match="Archived is not an alias"):
        stage_alias("Archived")
    with pytest.raises(RegistryError, match="unknown stage 'None'"):
        stage_target("None")


@pytest.mark.parametrize(
    "aliases,tags,stage",
    [
        (["production", "staging"], {}, "Production"),
        (["staging"], {"archived": "true"}, "Staging"),
        (["champion"], {"archived": "true"}, "Archived"),
        (["champion"], {}, None),
    ],
)
def test_stage_shown_for_a_version(
    aliases: list[str], tags: dict[str, str], stage: str | None
) -> None:
    assert stage_of(aliases, tags) == stage
