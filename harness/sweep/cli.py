"""``mlharness sweep``: parse options, call the sweep operation, show progress and a summary.

The only sweep module that imports typer and rich. Progress goes to stderr (a rich bar on
a terminal, one plain line per trial otherwise), so ``--json`` on stdout stays clean.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from harness.kernel.errors import ConfigError
from harness.kernel.jsonout import print_json
from harness.run.cli import EnvManager, JsonOut, TrackingUri
from harness.sweep.operations import SweepProgress, SweepRequest, SweepResult, sweep
from harness.sweep.space import Strategy

__all__ = ["sweep_command"]

INTERRUPTED_EXIT = 130


class Mode(StrEnum):
    """Whether a larger or a smaller ``--metric`` is better."""

    max = "max"
    min = "min"


class _Reporter:
    """Turns progress events into a rich bar (terminal) or plain lines (anything else)."""

    def __init__(self, console: Console, metric: str | None) -> None:
        self.console = console
        self.metric = metric
        self.progress: Progress | None = None
        self.task_id: object = None
        self.announced = False

    def __enter__(self) -> _Reporter:
        if self.console.is_terminal:
            self.progress = Progress(
                TextColumn("[bold]sweep[/bold] {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=self.console,
                transient=False,
            )
            self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.__exit__(None, None, None)

    def __call__(self, event: SweepProgress) -> None:
        counts = (
            f"cached {event.cached}  failed {event.failed}  pruned {event.pruned}  "
            f"running {event.running}"
        )
        if self.progress is not None:
            if self.task_id is None:
                self.task_id = self.progress.add_task(counts, total=event.total)
            self.progress.update(
                self.task_id,  # type: ignore[arg-type]
                completed=event.done,
                total=event.total,
                description=counts,
            )
            return
        if not self.announced:
            self.announced = True
            print(f"sweep {event.parent_run_id}: {event.total} trial(s)", file=sys.stderr)
        trial = event.ended
        if trial is not None:
            value = trial.metrics.get(self.metric) if self.metric else None
            shown = f" {self.metric}={value:.6g}" if value is not None else ""
            cached = " (cached)" if trial.cached else ""
            error = f": {trial.error}" if trial.error and trial.status == "FAILED" else ""
            print(
                f"[{event.done}/{event.total}] trial {trial.index} {trial.status}{cached}"
                f"{shown} run {trial.run_id}{error}",
                file=sys.stderr,
                flush=True,
            )


def _params_text(params: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items())


def render_summary(console: Console, result: SweepResult) -> None:
    """The summary table, the best trial and the parent run."""
    metric = result.definition.metric
    table = Table(title=f"sweep {result.parent_run_id} ({result.state})", title_justify="left")
    for column in ("trial", "params", "status", metric or "metric", "run id", "cached"):
        table.add_column(column, overflow="fold")
    for trial in result.trials:
        value = trial.value
        table.add_row(
            str(trial.index),
            _params_text(trial.params),
            trial.status,
            "" if value is None else f"{value:.6g}",
            trial.run_id or "",
            "yes" if trial.cached else "",
        )
    console.print(table)
    for trial in result.trials:
        if trial.status == "FAILED":
            console.print(
                f"trial {trial.index} failed: {trial.error} (log: {trial.log})",
                highlight=False,
                soft_wrap=True,
            )
    counts = result.counts
    console.print(
        f"{counts['finished']} finished ({counts['cached']} cached), {counts['failed']} failed, "
        f"{counts['pruned']} pruned, {counts['killed']} killed of {counts['total']}"
        f" in {result.wall_s:.1f} s",
        highlight=False,
    )
    if result.from_memo:
        console.print(
            f"answered by the same sweep, finished before: parent {result.parent_run_id}",
            highlight=False,
        )
    for note in result.notes:
        console.print(f"note: {note}", highlight=False, soft_wrap=True)
    if result.best is not None and metric:
        console.print(
            f"best: trial {result.best.index} {metric}={result.best.value:.6g} "
            f"run {result.best.run_id} ({_params_text(result.best.params)})",
            highlight=False,
        )


def _usage_problems(
    project: str | None,
    params: list[str],
    random_n: int | None,
    optimize: bool,
    trials: int | None,
    resume: str | None,
    others: dict[str, object],
) -> list[str]:
    problems = []
    if random_n is not None and optimize:
        problems.append("--random and --optimize exclude each other")
    if trials is not None and not optimize:
        problems.append("--trials goes with --optimize (use --random N for random search)")
    if resume:
        given = [name for name, value in others.items() if value not in (None, False, [], "main")]
        if project or params:
            given[:0] = ["PROJECT"] if project else []
            given += ["-P"] if params else []
        if given:
            problems.append(
                f"--resume takes no other sweep options (the stored definition decides); "
                f"got {', '.join(given)}"
            )
    return problems


def sweep_command(
    project: Annotated[
        str | None, typer.Argument(help="Project dir or Git URL (omit with --resume).")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "-P",
            "--param",
            help="NAME=SPEC: a list a,b,c, or int(L,H), uniform(L,H), loguniform(L,H), "
            "choice(a,b) (repeat).",
        ),
    ] = None,
    entry_point: Annotated[str, typer.Option("-e", "--entry-point", help="Entry point.")] = "main",
    random_n: Annotated[
        int | None, typer.Option("--random", help="Sample N trials at random from the space.")
    ] = None,
    optimize: Annotated[
        bool, typer.Option("--optimize", help="Adaptive search with Optuna TPE (and pruning).")
    ] = False,
    trials: Annotated[int | None, typer.Option("--trials", help="Trials for --optimize.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of --random/--optimize.")] = None,
    metric: Annotated[
        str | None, typer.Option("--metric", help="Metric that ranks trials (best child).")
    ] = None,
    mode: Annotated[Mode, typer.Option("--mode", help="max or min of --metric.")] = Mode.max,
    jobs: Annotated[
        int | None, typer.Option("--jobs", help="Trials at once (default 1; cluster: its threads).")
    ] = None,
    cluster: Annotated[
        str | None, typer.Option("--cluster", help="Dask scheduler, tcp://HOST:PORT.")
    ] = None,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop the sweep at the first failed trial.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Run trials even when cached.")] = False,
    env_manager: Annotated[
        EnvManager | None,
        typer.Option("--env-manager", help="local, uv or virtualenv (default: as mlflow run)."),
    ] = None,
    experiment_name: Annotated[str | None, typer.Option("--experiment-name")] = None,
    run_name: Annotated[str | None, typer.Option("--run-name", help="Parent run name.")] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Git branch, tag or commit to run.")
    ] = None,
    tracking_uri: TrackingUri = None,
    log_dir: Annotated[
        str | None,
        typer.Option("--log-dir", help="Per-trial logs (default ./.mlharness/sweeps/PARENT)."),
    ] = None,
    resume: Annotated[
        str | None, typer.Option("--resume", help="Continue the sweep of this parent run id.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and print the trials; run nothing.")
    ] = False,
    json_out: JsonOut = False,
) -> None:
    """Sweep a project's parameters: grid, random or Optuna search, one child run per trial.

    Exit 0 all trials finished, 1 a trial failed, 2 bad input, 130 interrupted (resumable).
    """
    from harness.kernel.assignments import parse_assignments

    params = param or []
    others: dict[str, object] = {
        "-e": entry_point,
        "--random": random_n,
        "--optimize": optimize,
        "--seed": seed,
        "--metric": metric,
        "--fail-fast": fail_fast,
        "--force": force,
        "--cluster": cluster,
        "--env-manager": env_manager,
        "--experiment-name": experiment_name,
        "--version": version,
    }
    problems = _usage_problems(project, params, random_n, optimize, trials, resume, others)
    if problems:
        raise ConfigError("mlharness sweep", problems)
    strategy: Strategy = "optimize" if optimize else "random" if random_n is not None else "grid"
    request = SweepRequest(
        project=project,
        params=list(parse_assignments(params, option="-P").items()),
        entry_point=entry_point,
        strategy=strategy,
        trials=trials if optimize else random_n,
        seed=seed,
        metric=metric,
        mode=mode.value,
        env_manager=env_manager.value if env_manager else None,
        experiment_name=experiment_name,
        version=version,
        tracking_uri=tracking_uri,
        run_name=run_name,
        jobs=jobs,
        cluster=cluster,
        fail_fast=fail_fast,
        force=force,
        dry_run=dry_run,
        resume=resume,
        log_dir=log_dir,
    )
    # MLflow's "View run" link stays off stdout (the summary and --json are the sweep's
    # only stdout): the MLflow boundary's output policy, in this process and its children.
    err = Console(stderr=True)
    if dry_run:
        result = sweep(request)
        print_json(result.to_dict())
        return
    with _Reporter(err, metric) as reporter:
        result = sweep(request, on_progress=reporter)
    if json_out:
        print_json(result.to_dict())
    else:
        render_summary(Console(width=None if sys.stdout.isatty() else 160), result)
    if result.state == "interrupted":
        err.print(
            f"interrupted: resume with `mlharness sweep --resume {result.parent_run_id}`",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(INTERRUPTED_EXIT)
    if result.any_failed or result.state == "stopped":
        raise typer.Exit(1)
