"""``mlharness run``, ``show``, ``replay`` and ``verify``.

Thin typer commands: each parses its options, calls ONE operation of
``harness.run.operations`` and renders the typed result (text via ``harness.run.render``, or the
result's ``to_dict`` with ``--json``). Operations are imported inside the commands so
``mlharness --help`` imports no mlflow.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from harness.kernel.jsonout import print_json

__all__ = [
    "EnvManager",
    "replay_command",
    "run_command",
    "show_command",
    "verify_command",
]

TrackingUri = Annotated[
    str | None,
    typer.Option("--tracking-uri", help="Tracking store (default: MLflow's, sqlite mlflow.db)."),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the plan; run nothing.")]
RecordedEnv = Annotated[
    bool,
    typer.Option(
        "--recorded-env",
        help="Run in the environment the manifest recorded (its Python and exact packages, "
        "built with uv and cached), not today's.",
    ),
]


class EnvManager(StrEnum):
    """Environment managers MLflow can use for a run."""

    local = "local"
    uv = "uv"
    virtualenv = "virtualenv"
    conda = "conda"


def run_command(
    project: Annotated[
        str, typer.Argument(help="Project dir, or Git URL (optionally ending in #subdir).")
    ],
    entry_point: Annotated[str, typer.Option("-e", "--entry-point", help="Entry point.")] = "main",
    param: Annotated[
        list[str] | None, typer.Option("-P", "--param", help="Parameter NAME=VALUE (repeat).")
    ] = None,
    env_manager: Annotated[
        EnvManager | None,
        typer.Option("--env-manager", help="local, uv or virtualenv (default: as mlflow run)."),
    ] = None,
    experiment_name: Annotated[str | None, typer.Option("--experiment-name")] = None,
    run_name: Annotated[str | None, typer.Option("--run-name")] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Git branch, tag or commit to run.")
    ] = None,
    require_clean: Annotated[
        bool, typer.Option("--require-clean", help="Refuse a working tree with changes.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Run even when cached.")] = False,
    tracking_uri: TrackingUri = None,
    dry_run: DryRun = False,
    json_out: JsonOut = False,
) -> None:
    """Run a project reproducibly: validate, launch via MLflow, record a manifest, cache."""
    from harness.kernel.assignments import parse_assignments
    from harness.run.operations import RunRequest, run

    result = run(
        RunRequest(
            project,
            entry_point,
            parse_assignments(param or [], option="-P"),
            env_manager=env_manager.value if env_manager else None,
            experiment_name=experiment_name,
            run_name=run_name,
            tracking_uri=tracking_uri,
            version=version,
            require_clean=require_clean,
            force=force,
            dry_run=dry_run,
            quiet_stdout=json_out,
        )
    )
    if json_out:
        print_json(result.to_dict())
    elif result.plan is not None:
        print_json(result.plan)
    else:
        from harness.run import render

        print(render.run_line(result), flush=True)


def show_command(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    tracking_uri: TrackingUri = None,
    json_out: JsonOut = False,
) -> None:
    """Print the manifest of a run (readable, or raw with --json)."""
    from harness.run.operations import ShowRequest, show

    shown = show(ShowRequest(run_id, tracking_uri))
    if json_out:
        print_json(shown.raw)
        return
    from harness.run import render

    render.show_manifest(Console(), shown)


def replay_command(
    run_id: Annotated[str, typer.Argument(help="Run id to replay.")],
    recorded_env: RecordedEnv = False,
    tracking_uri: TrackingUri = None,
    dry_run: DryRun = False,
    json_out: JsonOut = False,
) -> None:
    """Re-execute a run from its manifest (recorded commit, params and env manager)."""
    from harness.run.operations import ReplayRequest, replay_run

    result = replay_run(
        ReplayRequest(
            run_id,
            tracking_uri,
            dry_run=dry_run,
            quiet_stdout=json_out,
            recorded_env=recorded_env,
        )
    )
    if json_out or result.dry_run:
        print_json(result.to_dict())
        return
    from harness.run import render

    print(render.replay_line(result), flush=True)


def verify_command(
    run_id: Annotated[str, typer.Argument(help="Run id to verify.")],
    rtol: Annotated[
        list[str] | None,
        typer.Option("--rtol", help="Relative tolerance METRIC=TOL (repeat); default exact."),
    ] = None,
    recorded_env: RecordedEnv = False,
    perturb: Annotated[
        str | None,
        typer.Option(
            "--perturb",
            help="Replay under perturbations (threads,hashseed[,order]) and print a "
            "reproducibility table: exit 0 when nothing diverges.",
        ),
    ] = None,
    tracking_uri: TrackingUri = None,
    dry_run: DryRun = False,
    json_out: JsonOut = False,
) -> None:
    """Replay a run and compare params, metrics, artifact digests and environment.

    Exit 0 identical, 1 different, 2 error.
    """
    from harness.run.comparison import parse_rtols
    from harness.run.operations import VerifyRequest, verify
    from harness.run.perturbation import parse_kinds

    kinds = tuple(parse_kinds(perturb)) if perturb is not None else ()
    result = verify(
        VerifyRequest(
            run_id,
            parse_rtols(rtol or []),
            tracking_uri,
            dry_run,
            recorded_env=recorded_env,
            perturb=kinds,
        )
    )
    if json_out or result.dry_run:
        print_json(result.to_dict())
    else:
        from harness.run import render

        render.verify_report(Console(), result)
    if not result.dry_run and not result.identical:
        raise typer.Exit(1)
