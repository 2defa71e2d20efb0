"""``make demo``: the whole life of a model in one command, on the embedded default store.

Sweep projects/rf, register and promote the best trial, render the Airflow pipeline and
``airflow dags test`` it, serve the champion under traffic and a drifted batch, write the
drift report, render the monitoring stack and run its promtool tests, then a summary. One
section per step; the steps themselves live in :mod:`orchestration.demo.steps`, one module
each. Before the first step it checks the Debian packages the steps run (exit 2 with the
``apt-get install`` command when one is missing): the demo requires its tools and never
skips a step.

Tracking is MLflow's default (``sqlite:///mlflow.db`` in the working directory) unless
``MLFLOW_TRACKING_URI`` says otherwise; everything else goes to ``./demo-output/``. Every
process it starts is stopped at the end, also on failure, Ctrl-C and SIGTERM. Exit code 0
only when every step succeeded.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.status import Status
from rich.table import Table as RichTable

from harness.kernel.errors import MlharnessError
from orchestration.demo import prerequisites
from orchestration.demo.context import (
    DemoContext,
    StepResult,
    Table,
    all_succeeded,
    pipeline_settings,
    run_step,
    write_summary,
)
from orchestration.processes import supervised

__all__ = ["main", "run_and_exit"]

STYLE = {"ok": "green", "failed": "bold red"}


def _table(table: Table) -> RichTable:
    shown = RichTable(title=table.title, title_justify="left")
    for column in table.columns:
        shown.add_column(column)
    for row in table.rows:
        shown.add_row(*row)
    return shown


def _section(console: Console, result: StepResult) -> None:
    style = STYLE[result.status]
    for table in result.tables:
        console.print(_table(table))
    for line in result.excerpt:
        console.print(f"  {escape(line)}", style="dim", highlight=False)
    for name, where in result.artifacts.items():
        console.print(f"  {name}: [bold]{escape(where)}[/bold]")
    console.print(
        f"[{style}]{result.status}:[/{style}] {escape(result.summary)} "
        f"[dim]({result.seconds:.1f} s)[/dim]"
    )


def _summary(console: Console, ctx: DemoContext, results: list[StepResult], total: float) -> None:
    console.rule("7. summary")
    table = RichTable(title=f"demo: {total:.0f} s", title_justify="left")
    for column in ("step", "result", "time", "what happened"):
        table.add_column(column)
    for result in results:
        style = STYLE[result.status]
        table.add_row(
            result.title,
            f"[{style}]{result.status}[/{style}]",
            f"{result.seconds:.1f} s",
            escape(result.summary),
        )
    console.print(table)
    artifacts = [(n, w) for r in results for n, w in r.artifacts.items()]
    if artifacts:
        console.print("artifacts:")
        for name, where in artifacts:
            console.print(f"  {name}: [bold]{escape(where)}[/bold]")
    bin_dir = os.path.relpath(ctx.bin)
    if bin_dir.startswith(".."):
        bin_dir = str(ctx.bin)
    console.print("look at them:")
    console.print(
        f"  [bold]{bin_dir}/mlflow ui --backend-store-uri {escape(ctx.tracking_uri)} "
        "--host 127.0.0.1 --port 5000[/bold]  then open http://127.0.0.1:5000"
    )
    report = next(
        (r.artifacts["HTML report"] for r in results if "HTML report" in r.artifacts), None
    )
    if report:
        console.print(f"  [bold]xdg-open {escape(report)}[/bold]  (or open it in a browser)")


def _progress(console: Console, status: Status, title: str) -> Callable[[str], None]:
    """A step's progress: the spinner's text on a terminal, else a plain line per change."""
    last: list[str] = []

    def show(text: str) -> None:
        if console.is_terminal:
            status.update(f"{title}: {escape(text)}")
        elif not last or last[-1] != text:
            console.print(f"  {escape(text)}", style="dim", highlight=False)
        last[:] = [text]

    return show


def _load() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load unknown"
    return f"load {one:.1f}/{five:.1f} on {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    """Run every step; exit code 0 only if every step succeeded."""
    parser = argparse.ArgumentParser(prog="python -m orchestration.demo", description=__doc__)
    parser.add_argument(
        "-o", "--output", type=Path, default=Path("demo-output"), help="output folder"
    )
    args = parser.parse_args(argv)
    # The PATH every step runs with: this venv's bin first (DemoContext.env).
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    try:
        prerequisites.check(path)
    except MlharnessError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return int(exc.exit_code)
    from harness.store import mlflow_boundary
    from orchestration.demo.steps import STEPS

    # Wide enough for the tables when the output is a file or a pipe (rich says 80).
    console = Console() if sys.stdout.isatty() else Console(width=120)
    # Library chatter (MLflow's INFO lines) stays out of the sections; the boundary's output
    # policy keeps download progress bars off (here and in every step's child process).
    out = args.output.resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    tracking_uri = mlflow_boundary.connect(None)  # imports mlflow, which sets up its logger
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    console.rule("mlharness demo")
    console.print(f"tracking store: [bold]{escape(tracking_uri)}[/bold]")
    console.print(f"output folder:  [bold]{escape(str(out))}[/bold]  ({_load()})")

    started = time.monotonic()
    results: list[StepResult] = []
    interrupted = False
    try:
        model, alias, gates = pipeline_settings()
    except MlharnessError as exc:
        console.print(f"[bold red]error:[/bold red] {escape(str(exc))}")
        return int(exc.exit_code)
    with supervised(out / "logs") as supervisor:
        ctx = DemoContext(out, tracking_uri, supervisor, model=model, alias=alias, gates=gates)
        supervisor.on_start = lambda _started: ctx.record_pids()
        ctx.record_pids()
        step_started = time.monotonic()
        key, title = "", ""
        try:
            for step in STEPS:
                key, title = step.key, step.title
                step_started = time.monotonic()
                console.rule(title)
                with console.status(f"{title} ...") as status:
                    ctx.progress = _progress(console, status, title)
                    for later in STEPS:
                        if later.start is not None and later.starts_with == key:
                            later.start(ctx)
                    result = run_step(step, ctx)
                results.append(result)
                _section(console, result)
        except KeyboardInterrupt:
            interrupted = True
            console.print("[bold red]interrupted: stopping every process the demo started")
            if key and (not results or results[-1].key != key):
                seconds = time.monotonic() - step_started
                results.append(StepResult(key, title, "failed", "interrupted", seconds))
        finally:
            supervisor.stop_all()
            ctx.record_pids()
    total = time.monotonic() - started
    ok = all_succeeded(results, len(STEPS))
    write_summary(ctx, results, total, ok=ok, interrupted=interrupted)
    _summary(console, ctx, results, total)
    if interrupted:
        return 130
    return 0 if ok else 1


def run_and_exit() -> int:
    """``python -m orchestration.demo``: ``main`` with Ctrl-C before any step as exit 130."""
    try:
        return main()
    except KeyboardInterrupt:  # before any process was started, or while the summary printed
        return 130
