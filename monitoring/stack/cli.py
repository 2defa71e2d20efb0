"""``mlharness monitor render``: the monitoring stack from the pipeline config, and its lint.

Only typer is imported at module level (``mlharness --help`` stays light); the render and
check operations load cookiecutter, pydantic and yaml when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.kernel.errors import CheckFailed, MlharnessError

__all__ = ["render_command"]


def render_command(
    config: Annotated[
        Path | None,
        typer.Argument(help="The pipeline config (YAML).", show_default=False),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Directory to render the stack into."),
    ] = None,
    check: Annotated[
        Path | None,
        typer.Option(
            "--check",
            help="Lint this rendered (or hand-edited) stack: tools, alert conventions, tests, "
            "known metrics only. Exit 1 on any problem.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Render, compare with OUT, write nothing.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Render the monitoring stack from a pipeline config, or lint one (--check).

    Prometheus, Alertmanager, blackbox and Grafana configs, alert and recording rules and
    their promtool tests, all from the config's monitoring section.
    """
    from harness.kernel.jsonout import print_json

    if config is None and check is None:
        raise MlharnessError(
            "nothing to do", hint="give a pipeline config and -o OUT, or --check OUT"
        )
    report: dict[str, object] = {}
    if config is not None:
        if output is None:
            raise MlharnessError("a pipeline config needs -o OUT", hint="e.g. -o monitoring-stack")
        from monitoring.stack.operations import write_stack

        rendered = write_stack(config, output, dry_run=dry_run)
        report["render"] = rendered.to_dict()
        if not json_out:
            verb = (
                "would change"
                if dry_run and rendered.changed
                else ("unchanged" if not rendered.changed else "rendered")
            )
            typer.echo(
                f"{verb}: {rendered.out} ({len(rendered.files)} files, "
                f"{len(rendered.alerts)} alerts, digest {rendered.digest[:12]})"
            )
            if dry_run:
                for name in rendered.files:
                    typer.echo(f"  {name}")
    if check is not None:
        from monitoring.stack.lint import lint_stack

        checked = lint_stack(check)
        report["check"] = checked.to_dict()
        if not json_out:
            for problem in checked.problems:
                typer.echo(f"problem: {problem}", err=True)
            status = "ok" if checked.ok else f"{len(checked.problems)} problem(s)"
            typer.echo(
                f"check {checked.stack}: {status} ({len(checked.alerts)} alerts, "
                f"{checked.recording_rules} recording rules, {checked.test_cases} test cases, "
                f"{checked.panels} panels)"
            )
        if json_out:
            print_json(report)
        if not checked.ok:
            raise CheckFailed(f"{check}: {len(checked.problems)} problem(s) in the stack")
        return
    if json_out:
        print_json(report)
