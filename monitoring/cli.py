"""``mlharness monitor``: build reference profiles and check batches for drift.

Each command parses its options, calls one operation of :mod:`monitoring.operations` and
renders its result. Heavy imports (numpy, pyarrow, scipy, mlflow) happen inside the
operations, so ``mlharness --help`` stays light.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.kernel.jsonout import print_json
from monitoring.stack.cli import render_command

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from monitoring.drift import DriftResult
    from monitoring.operations import ColumnSummary, DriftOutcome, ProfileResult

__all__ = ["app", "drift_command", "profile_command"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Drift profiles, drift reports and monitoring.",
)
app.command("render")(render_command)
err = Console(stderr=True)
out = Console()

# Show a progress bar from this many rows on.
PROGRESS_ROWS = 1_000_000

TrackingUri = Annotated[
    str | None,
    typer.Option("--tracking-uri", help="MLflow tracking URI (default: MLflow's own default)."),
]


@app.command("profile")
def profile_command(
    data: Annotated[
        Path | None, typer.Argument(help="Reference data (.csv or .parquet).", show_default=False)
    ] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Profile JSON to write.")] = Path(
        "profile.json"
    ),
    target: Annotated[str | None, typer.Option(help="Target (label) column.")] = None,
    prediction: Annotated[str | None, typer.Option(help="Prediction column.")] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="A registered model (models:/name@alias or models:/name/version): profile its "
            "run's data and log the profile beside it."
        ),
    ] = None,
    categorical: Annotated[
        list[str] | None, typer.Option("--categorical", help="Treat this column as categorical.")
    ] = None,
    numerical: Annotated[
        list[str] | None, typer.Option("--numerical", help="Treat this column as numerical.")
    ] = None,
    max_values: Annotated[
        int | None,
        typer.Option(help="Keep a seeded sample of at most this many values per column."),
    ] = None,
    threads: Annotated[int, typer.Option(help="Worker threads.")] = 2,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Build a reference profile from training data (once), to compare batches against."""
    from monitoring.operations import ProfileOptions, build_reference_profile

    result = build_reference_profile(
        data,
        output,
        ProfileOptions(
            target=target,
            prediction=prediction,
            model=model,
            categorical=tuple(categorical or ()),
            numerical=tuple(numerical or ()),
            max_values=max_values,
            threads=threads,
            tracking_uri=tracking_uri,
            dry_run=dry_run,
        ),
    )
    if json_out:
        print_json(result.to_dict())
    else:
        _print_profile(result)


@app.command("drift")
def drift_command(
    reference: Annotated[Path, typer.Option(help="Reference profile JSON.")],
    current: Annotated[Path, typer.Option(help="Current batch (.csv or .parquet).")],
    html: Annotated[Path | None, typer.Option(help="Write the HTML report here.")] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the JSON report here.")
    ] = None,
    stattest: Annotated[
        list[str] | None,
        typer.Option(
            help="Per-column test: COL=METHOD[:THRESHOLD] (ks, wasserstein, psi, "
            "chisquare, jensenshannon)."
        ),
    ] = None,
    drift_share: Annotated[
        float, typer.Option(help="Data-set drift when this share of features drifts.")
    ] = 0.5,
    threads: Annotated[int, typer.Option(help="Worker threads.")] = 2,
    ks_pvalues: Annotated[
        bool,
        typer.Option(
            "--ks-pvalues",
            help="Compute every KS p-value, also where it is slow and not the deciding test.",
        ),
    ] = False,
    log_to_mlflow: Annotated[
        bool, typer.Option("--log-to-mlflow", help="Log the report to MLflow as a run.")
    ] = False,
    experiment: Annotated[str, typer.Option(help="MLflow experiment for --log-to-mlflow.")] = (
        "drift-monitoring"
    ),
    prometheus_textfile: Annotated[
        Path | None, typer.Option(help="Write the Prometheus gauges to this .prom file.")
    ] = None,
    pushgateway: Annotated[
        str | None,
        typer.Option(
            help="Push the gauges and the last-success time to this Prometheus Pushgateway "
            "(host:port or URL; job mlharness_drift, grouped by data set).",
            show_default=False,
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            help="The data set's name in the gauges and on the Pushgateway "
            "(default: the batch's file name without suffix).",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the JSON report.")] = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Compare a batch with a reference profile; exit 4 when the data set drifted."""
    from monitoring.operations import DriftOptions, DriftOutputs, check_drift
    from monitoring.scipy_functions import prefetch, wait_for_prefetch

    if not dry_run:  # scipy's functions load while the profile is read and the batch counted
        prefetch()
    try:
        with _ProgressBar() as progress:
            outcome = check_drift(
                reference,
                current,
                DriftOptions(
                    stattests=tuple(stattest or ()),
                    drift_share=drift_share,
                    threads=threads,
                    ks_pvalues=ks_pvalues,
                    dataset=dataset,
                    dry_run=dry_run,
                ),
                DriftOutputs(
                    report=output,
                    html=html,
                    prometheus_textfile=prometheus_textfile,
                    pushgateway=pushgateway,
                    log_to_mlflow=log_to_mlflow,
                    experiment=experiment,
                    tracking_uri=tracking_uri,
                ),
                progress=progress,
            )
        _print_drift(outcome, json_out)
        drifted = outcome.drift_error()
        if drifted is not None:
            raise drifted
    finally:
        wait_for_prefetch()  # never exit while a thread is still importing


class _ProgressBar:
    """A rich progress bar on stderr for large batches (``DriftProgress``)."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *_: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start(self, name: str, columns: int, rows: int) -> None:
        if rows < PROGRESS_ROWS:
            return
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("drift {task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} columns"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(name, total=columns)

    def column_done(self, column: str) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)


# -- rendering ----------------------------------------------------------------------------------
def _say(text: str) -> None:
    """One plain line (paths and column names may hold ``[``: no rich markup)."""
    out.print(text, markup=False, highlight=False)


def human_size(size: int) -> str:
    """``1536`` -> ``1.5 KiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _column_detail(column: ColumnSummary) -> str:
    """``mean ± std [min, max]`` of a numerical column, the top categories of another."""
    if column.kind == "numerical":
        if column.mean is None:
            return "no finite values"
        text = (
            f"{_number(column.mean)} ± {_number(column.std)} "
            f"[{_number(column.minimum)}, {_number(column.maximum)}]"
        )
        return text + (" sampled" if column.sampled else "")
    more = column.n_distinct - len(column.top_categories)
    return ", ".join(column.top_categories) + (f" +{more}" if more > 0 else "")


def _print_profile(result: ProfileResult) -> None:
    from rich import box

    plan = result.plan
    roles = ", ".join(
        f"{role} {name}"
        for role, name in (("target", plan.target), ("prediction", plan.prediction))
        if name
    )
    _say(f"profile of {plan.data}: {plan.rows:,} rows" + (f" ({roles})" if roles else ""))
    if plan.log_to_run:
        _say(f"logged to run: {plan.log_to_run}")
    if result.dry_run:
        _say(f"columns: {', '.join(plan.columns)}")
        _say(f"would write: {plan.output} (and {plan.output.with_suffix('.npz').name})")
        return
    # Narrow enough for 80 columns; "excl." counts missing and infinite values.
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("column")
    table.add_column("kind")
    for key in ("values", "excl.", "distinct"):
        table.add_column(key, justify="right")
    table.add_column(escape("mean ± std [min, max] / top"))
    for column in result.columns:
        table.add_row(
            escape(column.name),
            column.kind,
            f"{column.n_finite:,}",
            f"{column.n_excluded:,}",
            f"{column.n_distinct:,}",
            escape(_column_detail(column)),
        )
    out.print(table)
    if result.reference_metrics:
        metrics = ", ".join(f"{k} {v:.4f}" for k, v in sorted(result.reference_metrics.items()))
        _say(f"reference metrics: {metrics}")
    for written in result.files:
        _say(f"wrote {written.path} ({human_size(written.size)})")


def _print_drift(outcome: DriftOutcome, json_out: bool) -> None:
    if json_out:
        if outcome.dry_run:
            print_json(outcome.to_dict())
        else:
            from monitoring import report_json

            sys.stdout.write(report_json.dumps(outcome.to_dict()) + "\n")
        return
    if outcome.dry_run or outcome.result is None:
        plan = outcome.plan
        _say(f"would compare {plan.current} ({plan.rows:,} rows) with {plan.reference}")
        table = Table()
        table.add_column("column")
        table.add_column("test")
        for name, method in plan.methods.items():
            table.add_row(escape(name), method)
        out.print(table)
        for line in plan.outputs:
            _say(f"would write {line}")
        return
    _print_summary(outcome.result)
    for written in outcome.files:
        _say(f"wrote {written.path} ({human_size(written.size)})")
    if outcome.mlflow_run_id:
        _say(f"logged to MLflow run {outcome.mlflow_run_id}")
    if outcome.pushed_to:
        _say(f"pushed the gauges to {outcome.pushed_to}")


def _print_summary(result: DriftResult) -> None:
    from monitoring.report_html import summary_rows

    table = Table(title=f"drift: {result.current} vs {result.reference}")
    rows = summary_rows(result)
    for key in ("column", "role", "test", "score", "threshold", "drift"):
        table.add_column(key)
    for row in rows:
        style = "red" if row["drift"] == "yes" else None
        table.add_row(*(escape(str(row[k])) for k in row), style=style)
    out.print(table)
    verdict = "DRIFT" if result.dataset_drift else "no drift"
    _say(
        f"data set: {verdict} ({result.n_drifted_features}/{result.n_features} features, "
        f"share {result.drift_share:.2f}, threshold {result.drift_share_threshold:.2f}) "
        f"in {result.seconds:.2f} s"
    )
    if result.concept is not None:
        _say(f"concept drift: {'yes' if result.concept.drift else 'no'}")
