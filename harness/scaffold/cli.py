"""``mlharness new``: create a project from a cookiecutter template.

A thin typer command: parse the options, call ``harness.scaffold.operations.new_project``,
render the typed result (``harness.scaffold.render``, or JSON with ``--json``).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from harness.kernel.jsonout import print_json

__all__ = ["new_command"]


def new_command(
    template: str | None = typer.Argument(
        None,
        help="Template directory or Git URL (default: the repository's templates/mlflow-project).",
        show_default=False,
    ),
    no_input: bool = typer.Option(
        False, "--no-input", help="Do not prompt: use the defaults and the --set values."
    ),
    assignments: list[str] = typer.Option(
        [], "--set", metavar="KEY=VALUE", help="Answer one template option (repeatable)."
    ),
    output_dir: Path = typer.Option(
        Path("."), "-o", "--output-dir", help="Directory to create the project in."
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace an existing project directory."
    ),
    checkout: str | None = typer.Option(
        None, "--checkout", help="Branch, tag or commit of a Git template."
    ),
    directory: str | None = typer.Option(
        None, "--directory", help="Template sub-directory inside the repository or directory."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Render into a scratch directory and print the plan only."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Create a new MLflow project from a template (prompts unless --no-input)."""
    # No --tracking-uri: `new` never contacts a tracking store, so the option would be
    # accepted and ignored; typer refuses it as an unknown option (exit 2).
    from harness.scaffold import project_template as scaffold
    from harness.scaffold.operations import NewRequest, new_project

    created = new_project(
        NewRequest(
            template,
            output_dir=output_dir,
            values=scaffold.parse_assignments(assignments),
            no_input=no_input,
            overwrite=overwrite,
            dry_run=dry_run,
            checkout=checkout,
            directory=directory,
        )
    )
    if json_out:
        print_json(created.to_dict())
        return
    from harness.scaffold import render

    render.created(Console(), created)
