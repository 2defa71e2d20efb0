"""``mlharness config``: print the pipeline config's JSON Schema, check a config file.

``check`` prints every problem on its own line (key path first) and exits 2, so a user
fixes everything in one round; the commands that render from a config (``mlharness airflow
render``, ``mlharness monitor render``) run the same checks before writing anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.kernel.errors import ExitCode
from harness.kernel.jsonout import print_json

__all__ = ["app"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Pipeline config: JSON Schema and checks.",
)


@app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the pipeline config (for editors and reviewers)."""
    from harness.schemas.pipeline_config import PipelineConfig

    print_json(PipelineConfig.model_json_schema())


@app.command("check")
def check_command(
    file: Annotated[Path, typer.Argument(help="Pipeline config (YAML).", show_default=False)],
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check a pipeline config: schema, entry points and params against the MLproject,
    cycles in depends_on, schedules, literal secrets. Every problem at once; exit 2."""
    from harness.config.operations import check_file

    report = check_file(file)
    if json_out:
        print_json(report.to_dict())
    elif report.ok and report.config is not None:
        steps = ", ".join(step.name for step in report.config.steps)
        typer.echo(f"{file}: ok (pipeline {report.config.name!r}, steps: {steps})")
        for note in report.notes:
            typer.echo(f"note: {note}")
    else:
        typer.echo(f"error: {file}: {len(report.problems)} problem(s):", err=True)
        for problem in report.problems:
            typer.echo(f"  {problem}", err=True)
    if not report.ok:
        raise typer.Exit(int(ExitCode.BAD_INPUT))
