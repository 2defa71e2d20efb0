"""``mlharness monitor``: build reference profiles and check batches for drift.

Heavy imports (numpy, pyarrow, scipy, mlflow) happen inside the commands, so
``mlharness --help`` stays light.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from harness.kernel.errors import SourceError
from monitoring.errors import DriftDetected

if TYPE_CHECKING:
    from monitoring.chunks import ColumnSource
    from monitoring.engine import DriftResult

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Drift profiles, drift reports and monitoring.",
)
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
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Build a reference profile from training data (once), to compare batches against."""
    from monitoring.chunks import open_source
    from monitoring.profile import build_profile, save_profile

    model_source = None
    if model is not None:
        from monitoring.model_data import resolve_model_data

        model_source = resolve_model_data(model, data, tracking_uri=tracking_uri)
        source, name = model_source.source, model_source.description
        target = target or model_source.target
        prediction = prediction or model_source.prediction
    elif data is None:
        raise SourceError("give DATA or --model", hint="mlharness monitor profile data.csv")
    else:
        source, name = open_source(data), str(data)
    plan: dict[str, Any] = {
        "data": name,
        "rows": source.num_rows,
        "columns": source.schema.names,
        "target": target,
        "prediction": prediction,
        "output": str(output),
        "log_to_run": model_source.run_id if model_source else None,
    }
    if dry_run:
        _emit({"dry_run": True, **plan}, as_json)
        return
    profile = build_profile(
        source,
        name=name,
        target=target,
        prediction=prediction,
        categorical=categorical or [],
        numerical=numerical or [],
        max_values=max_values,
        threads=threads,
    )
    written = save_profile(profile, output)
    if model_source is not None:
        model_source.log_profile(written)
    result = {
        **plan,
        "files": [str(p) for p in written],
        "bytes": sum(p.stat().st_size for p in written),
        "kinds": {n: c.kind for n, c in profile.columns.items()},
        "reference_metrics": profile.reference_metrics,
    }
    _emit(result, as_json)


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
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report.")] = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Compare a batch with a reference profile; exit 4 when the data set drifted."""
    from monitoring.chunks import open_source
    from monitoring.policy import make_policy
    from monitoring.profile import load_profile

    policy = make_policy(stattest or [], drift_share)
    profile = load_profile(reference)
    source = open_source(current)
    if dry_run:
        plan = {
            "dry_run": True,
            "reference": str(reference),
            "current": str(current),
            "rows": source.num_rows,
            "columns": {
                name: policy.rule_for(name, c.kind, c.n_finite).method
                for name, c in profile.columns.items()
            },
        }
        policy.check({n: c.kind for n, c in profile.columns.items()})
        _emit(plan, as_json)
        return
    result = _run_with_progress(profile, source, policy, str(current), threads, ks_pvalues)
    from monitoring import report_json

    report = report_json.to_dict(result)
    if output is not None:
        report_json.write_json(report, output)
    if html is not None:
        from monitoring.report_html import write_html

        write_html(result, html)
    if prometheus_textfile is not None:
        from monitoring.metrics import DriftMetrics

        gauges = DriftMetrics()
        gauges.update(result, current.stem)
        gauges.write_textfile(prometheus_textfile)
    if log_to_mlflow:
        from monitoring.mlflow_log import log_report

        run_id = log_report(
            result, report, html_path=html, experiment=experiment, tracking_uri=tracking_uri
        )
        report["mlflow_run_id"] = run_id
    if as_json:
        sys.stdout.write(report_json.dumps(report) + "\n")
    else:
        _print_summary(result)
    if result.dataset_drift:
        raise DriftDetected(
            f"data-set drift: {result.n_drifted_features} of {result.n_features} features "
            f"drifted (share {result.drift_share:.2f} >= {result.drift_share_threshold:.2f})"
        )


def _run_with_progress(
    profile: Any, source: ColumnSource, policy: Any, name: str, threads: int, all_pvalues: bool
) -> DriftResult:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from monitoring.engine import run_drift

    large = source.num_rows >= PROGRESS_ROWS
    with Progress(
        TextColumn("drift {task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} columns"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not large,
    ) as progress:
        task = progress.add_task(name, total=len(profile.columns))
        return run_drift(
            profile,
            source,
            policy,
            current_name=name,
            threads=threads,
            on_column_done=lambda _c: progress.advance(task),
            all_pvalues=all_pvalues,
        )


def _print_summary(result: DriftResult) -> None:
    from monitoring.report_html import summary_rows

    table = Table(title=f"drift: {result.current} vs {result.reference}")
    rows = summary_rows(result)
    for key in ("column", "role", "test", "score", "threshold", "drift"):
        table.add_column(key)
    for row in rows:
        style = "red" if row["drift"] == "yes" else None
        table.add_row(*(str(row[k]) for k in row), style=style)
    out.print(table)
    verdict = "DRIFT" if result.dataset_drift else "no drift"
    out.print(
        f"data set: {verdict} ({result.n_drifted_features}/{result.n_features} features, "
        f"share {result.drift_share:.2f}, threshold {result.drift_share_threshold:.2f}) "
        f"in {result.seconds:.2f} s"
    )
    if result.concept is not None:
        out.print(f"concept drift: {'yes' if result.concept.drift else 'no'}")


def _emit(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, indent=1) + "\n")
        return
    for key, value in data.items():
        out.print(f"{key}: {value}")
