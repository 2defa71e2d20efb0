"""The new operation: render a project from a cookiecutter template."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.scaffold import project_template as scaffold

__all__ = ["NewRequest", "new_project"]


@dataclass(frozen=True)
class NewRequest:
    """The template (None: the packaged ``templates/mlflow-project``), its answers and
    where to put the project."""

    template: str | None = None
    output_dir: Path = Path(".")
    values: Mapping[str, str] = field(default_factory=dict)
    no_input: bool = False
    overwrite: bool = False
    dry_run: bool = False
    checkout: str | None = None
    directory: str | None = None


def new_project(request: NewRequest) -> scaffold.Created:
    """Render the project (or, for a dry run, render into a scratch directory and report
    what would be created). Raises ``OptionError``/``TemplateError``/``SourceError``
    (exit 2) before anything is written to ``output_dir``."""
    return scaffold.create_project(
        request.template,
        output_dir=request.output_dir,
        values=dict(request.values),
        no_input=request.no_input,
        overwrite=request.overwrite,
        dry_run=request.dry_run,
        checkout=request.checkout,
        directory=request.directory,
    )
