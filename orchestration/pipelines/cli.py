"""``mlharness airflow``: render a pipeline config into Airflow 3 DAGs and their stack.

The command parses options, calls
:func:`orchestration.pipelines.operations.write_pipeline` and prints its
result; a config with problems prints every one on its own line (key path first), exits 2
and writes nothing.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from harness.kernel.errors import ConfigError, ExitCode
from harness.kernel.jsonout import print_json

__all__ = ["Executor", "app"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Render Airflow 3 pipelines and their stack from a pipeline config.",
)


@app.callback()
def airflow_group() -> None:
    """Render Airflow 3 pipelines and their stack from a pipeline config."""


class Executor(StrEnum):
    """Airflow executor of the rendered compose stack."""

    local = "local"
    celery = "celery"


@app.command("render")
def render_command(
    config: Annotated[Path, typer.Argument(help="Pipeline config (YAML).", show_default=False)],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Directory to render into.", show_default=False)
    ],
    executor: Annotated[
        Executor, typer.Option(help="local: LocalExecutor; celery: adds Redis and workers.")
    ] = Executor.local,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and list what would change; write nothing.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Render DAGs (train, drift), docker-compose.yaml, .env, Dockerfile and README into OUT."""
    from orchestration.pipelines.operations import PipelineRequest, write_pipeline

    try:
        result = write_pipeline(PipelineRequest(config, output, executor.value, dry_run))
    except ConfigError as exc:
        if json_out:
            print_json({"file": exc.source, "ok": False, "problems": exc.problems})
        else:
            typer.echo(f"error: {exc.source}: {len(exc.problems)} problem(s):", err=True)
            for problem in exc.problems:
                typer.echo(f"  {problem}", err=True)
            typer.echo("nothing rendered", err=True)
        raise typer.Exit(int(ExitCode.BAD_INPUT)) from None
    if json_out:
        print_json(result.to_dict())
        return
    verb = "would write" if dry_run else "wrote"
    for label, files in (("new", result.created), ("changed", result.changed)):
        for name in files:
            typer.echo(f"{verb} {output / name} ({label})")
    typer.echo(
        f"pipeline {result.pipeline!r} ({result.executor} executor): {len(result.created)} new, "
        f"{len(result.changed)} changed, {len(result.unchanged)} unchanged file(s) in {output}"
    )
