"""``mlharness new``: create a new MLflow project from a cookiecutter template.

A thin typer wrapper: the work (checks, rendering, all-or-nothing placement) is in
:mod:`harness.scaffold`; this module only parses options and prints the outcome.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from harness import scaffold


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
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    tracking_uri: str | None = typer.Option(
        None,
        "--tracking-uri",
        help="Accepted like every command; `new` does not contact a tracking store.",
    ),
) -> None:
    """Create a new MLflow project from a template (prompts unless --no-input)."""
    created = scaffold.create_project(
        template,
        output_dir=output_dir,
        values=scaffold.parse_assignments(assignments),
        no_input=no_input,
        overwrite=overwrite,
        dry_run=dry_run,
        checkout=checkout,
        directory=directory,
    )
    if as_json:
        typer.echo(json.dumps(created.as_json(), indent=2, sort_keys=True))
        return
    console = Console()
    verb = "Would create" if created.dry_run else "Replaced" if created.replaced else "Created"
    console.print(
        f"{verb} [bold]{created.project_dir}[/bold] ({len(created.files)} files) "
        f"from {created.template}"
    )
    if created.dry_run:
        for name in created.files:
            console.print(f"  {name}", highlight=False)
        return
    console.print(f"Next: cd {created.project_dir} && mlflow run . --env-manager local")
