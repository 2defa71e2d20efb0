"""``mlharness run``, ``show``, ``replay``, ``verify`` and ``new``.

Thin typer commands: parse options, call the library, print text or JSON. Heavy modules
(mlflow) are imported inside the commands so ``mlharness --help`` stays fast.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from harness.kernel.jsonout import print_json

TrackingUri = Annotated[
    str | None,
    typer.Option("--tracking-uri", help="Tracking store (default: MLflow's, sqlite mlflow.db)."),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the plan; run nothing.")]


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
    from harness.operations.run import RunRequest, run

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
    elif result.cached:
        print(f"cached: {result.run_id}", flush=True)
    else:
        metrics = ", ".join(f"{k}={v:.6g}" for k, v in result.metrics.items())
        print(
            f"run: {result.run_id} {result.status}" + (f" ({metrics})" if metrics else ""),
            flush=True,
        )


def show_command(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    tracking_uri: TrackingUri = None,
    json_out: JsonOut = False,
) -> None:
    """Print the manifest of a run (readable, or raw with --json)."""
    from harness import launch, manifest, mlflow_boundary, render

    uri = mlflow_boundary.connect(tracking_uri)
    raw, tag = launch.fetch_manifest(mlflow_boundary.client(uri), run_id, uri)
    if json_out:
        print_json(raw)
        return
    doc = raw if isinstance(raw, dict) else {}
    render.show_manifest(Console(), run_id, doc, tag is not None and manifest.digest(doc) == tag)


def replay_command(
    run_id: Annotated[str, typer.Argument(help="Run id to replay.")],
    tracking_uri: TrackingUri = None,
    dry_run: DryRun = False,
    json_out: JsonOut = False,
) -> None:
    """Re-execute a run from its manifest (recorded commit, params and env manager)."""
    from harness import mlflow_boundary, replay

    uri = mlflow_boundary.connect(tracking_uri)
    if dry_run:
        original = replay.load_checked(run_id, uri)
        print_json(
            {"dry_run": True, "source": original["source"], "run_spec": original["run_spec"]}
        )
        return
    _, outcome = replay.replay(run_id, uri, quiet_stdout=json_out)
    if json_out:
        print_json({"replay_of": run_id, "run_id": outcome.run_id, "status": outcome.status})
    else:
        print(f"replay: {outcome.run_id} {outcome.status} (of {run_id})", flush=True)


def verify_command(
    run_id: Annotated[str, typer.Argument(help="Run id to verify.")],
    rtol: Annotated[
        list[str] | None,
        typer.Option("--rtol", help="Relative tolerance METRIC=TOL (repeat); default exact."),
    ] = None,
    tracking_uri: TrackingUri = None,
    dry_run: DryRun = False,
    json_out: JsonOut = False,
) -> None:
    """Replay a run and compare params, metrics, artifact digests and environment.

    Exit 0 identical, 1 different, 2 error.
    """
    from harness import mlflow_boundary, render, replay, verify

    tolerances = verify.parse_rtols(rtol or [])
    uri = mlflow_boundary.connect(tracking_uri)
    original = replay.load_checked(run_id, uri)
    if dry_run:
        print_json(
            {
                "dry_run": True,
                "source": original["source"],
                "run_spec": original["run_spec"],
                "rtol": tolerances,
            }
        )
        return
    verify.check_rtol_names(tolerances, original)
    _, outcome = replay.replay(run_id, uri, quiet_stdout=True, original=original)
    rows = verify.compare(original, outcome.manifest or {}, tolerances)
    same = verify.identical(rows)
    if json_out:
        print_json(
            {
                "run_id": run_id,
                "replay_run_id": outcome.run_id,
                "identical": same,
                "rows": [row.as_dict() for row in rows],
            }
        )
    else:
        console = Console()
        console.print(render.diff_table(rows))
        differing = sum(row.status == verify.DIFFERS for row in rows)
        console.print(
            f"replay {outcome.run_id}: " + ("identical" if same else f"{differing} value(s) differ")
        )
    if not same:
        raise typer.Exit(1)


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
    from harness import scaffold

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
        print_json(created.as_json())
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
