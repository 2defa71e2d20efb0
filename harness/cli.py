"""``mlharness run``, ``show``, ``replay`` and ``verify``.

Thin typer commands: parse options, call the library, print text or JSON. Heavy modules
(mlflow) are imported inside the commands so ``mlharness --help`` stays fast.
"""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console

from harness.render import print_json

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
    from harness import hit_memo, spec

    params = spec.parse_assignments(param or [])
    request = hit_memo.Request(
        project,
        entry_point,
        params,
        env_manager.value if env_manager else None,
        experiment_name,
        tracking_uri,
        version=version,
        require_clean=require_clean,
        force=force,
        dry_run=dry_run,
    )
    probe = hit_memo.probe(request)
    hit = hit_memo.answer(probe) if probe is not None else None
    if hit is not None:
        _report(hit, json_out)
        return
    _run_full(request, run_name, json_out, probe)


def _run_full(request: Any, run_name: str | None, json_out: bool, probe: Any) -> None:
    """The authoritative path: MLflow parses and launches; a FINISHED end is memoised."""
    from harness import hit_memo, launch, mlflow_api, source, spec, tracking

    with source.checkout(
        request.project, request.version, require_clean=request.require_clean
    ) as resolved:
        run_spec = spec.build_run_spec(
            resolved.project_dir,
            request.entry_point,
            request.params,
            env_manager=request.env_manager,
            experiment_name=request.experiment_name,
            run_name=run_name,
        )
        the_plan = launch.plan(resolved, run_spec)
        if request.dry_run:
            summary = the_plan.summary()
            if json_out:
                print_json({"dry_run": True, **summary})
            else:
                print_json(summary)
            return
        uri = tracking.use(request.tracking_uri)
        outcome = launch.execute(the_plan, uri, force=request.force, quiet_stdout=json_out)
        if probe is not None and outcome.status == "FINISHED":
            inputs = {}
            for name, entry in the_plan.inputs.items():
                local = mlflow_api.local_path_or_none(str(entry["value"]))
                if entry["digest"] and local is not None:
                    inputs[name] = (os.path.abspath(local), str(entry["digest"]))
            local_lock = (
                the_plan.environment["lock_digest"] if run_spec.env_manager == "local" else None
            )
            hit_memo.remember(
                probe,
                uri,
                the_plan.cache_key,
                outcome.run_id,
                inputs,
                planned_tree=resolved.tree_digest,
                planned_local_lock=local_lock,
            )
    _report(outcome, json_out)


def _report(outcome: Any, json_out: bool) -> None:
    from harness import manifest

    doc = outcome.manifest
    if json_out:
        print_json(
            {
                "run_id": outcome.run_id,
                "status": outcome.status,
                "cached": outcome.cached,
                "cache_key": doc["cache_key"] if doc else outcome.extra.get("cache_key"),
                "manifest_digest": manifest.digest(doc) if doc else None,
                "metrics": doc["metrics"] if doc else None,
            }
        )
    elif outcome.cached:
        print(f"cached: {outcome.run_id}", flush=True)
    else:
        metrics = ", ".join(f"{k}={v:.6g}" for k, v in (doc or {}).get("metrics", {}).items())
        print(
            f"run: {outcome.run_id} {outcome.status}" + (f" ({metrics})" if metrics else ""),
            flush=True,
        )


def show_command(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    tracking_uri: TrackingUri = None,
    json_out: JsonOut = False,
) -> None:
    """Print the manifest of a run (readable, or raw with --json)."""
    from harness import launch, manifest, render, tracking

    uri = tracking.use(tracking_uri)
    raw, tag = launch.fetch_manifest(tracking.client(uri), run_id, uri)
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
    from harness import replay, tracking

    uri = tracking.use(tracking_uri)
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
    from harness import render, replay, tracking, verify

    tolerances = verify.parse_rtols(rtol or [])
    uri = tracking.use(tracking_uri)
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
