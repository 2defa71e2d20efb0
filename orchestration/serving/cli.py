"""``mlharness serve``: parse options, call the serve operation, render its plan or result."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from harness.kernel.jsonout import print_json
from orchestration.serving.settings import DEFAULT_MAX_REQUEST_BYTES

__all__ = ["serve_command"]

err = Console(stderr=True)


def serve_command(
    model: Annotated[
        str,
        typer.Argument(
            help="models:/NAME@ALIAS (followed: hot reload) or models:/NAME/VERSION.",
            show_default=False,
        ),
    ],
    port: Annotated[int, typer.Option("--port", "-p", help="TCP port to listen on.")] = 8080,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind (loopback by default).")
    ] = "127.0.0.1",
    workers: Annotated[int, typer.Option("--workers", help="Server processes.")] = 1,
    max_batch_rows: Annotated[
        int,
        typer.Option("--max-batch-rows", help="Most rows in one predict call (1: no batching)."),
    ] = 64,
    max_batch_delay_ms: Annotated[
        float,
        typer.Option(
            "--max-batch-delay-ms",
            help="Longest wait for more rows while other requests are arriving.",
        ),
    ] = 2.0,
    max_queue_rows: Annotated[
        int, typer.Option("--max-queue-rows", help="Queued rows beyond which requests get 503.")
    ] = 4096,
    max_request_bytes: Annotated[
        int, typer.Option("--max-request-bytes", help="Larger request bodies get 413.")
    ] = DEFAULT_MAX_REQUEST_BYTES,
    reload_interval: Annotated[
        float,
        typer.Option("--reload-interval", help="Seconds between alias checks (0: never reload)."),
    ] = 10.0,
    drift_window_rows: Annotated[
        int, typer.Option("--drift-window-rows", help="Rows in the online drift window.")
    ] = 1000,
    drift_interval: Annotated[
        float, typer.Option("--drift-interval", help="Seconds between online drift updates.")
    ] = 10.0,
    no_metrics: Annotated[
        bool, typer.Option("--no-metrics", help="No /metrics, no drift (for benchmarks).")
    ] = False,
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            "--tracking-uri", help="Tracking store (default: MLflow's, sqlite mlflow.db)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the options, resolve the model; serve nothing.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Serve a registered model with MLflow's /invocations protocol, batching, /metrics and
    hot alias reload."""
    from orchestration.serving.operations import plan, serve
    from orchestration.serving.settings import ServeConfig

    config = ServeConfig(
        model_uri=model,
        port=port,
        host=host,
        workers=workers,
        max_batch_rows=max_batch_rows,
        max_batch_delay_ms=max_batch_delay_ms,
        max_queue_rows=max_queue_rows,
        max_request_bytes=max_request_bytes,
        reload_interval=reload_interval,
        metrics=not no_metrics,
        tracking_uri=tracking_uri,
        drift_window_rows=drift_window_rows,
        drift_interval=drift_interval,
    )
    if dry_run:
        planned = plan(config)
        if json_out:
            print_json({"dry_run": True, **planned.to_dict()})
            return
        typer.echo(
            f"would serve {planned.name} version {planned.version} ({model}) on {planned.url} "
            f"with {workers} worker(s); reload: {'on' if planned.to_dict()['reload'] else 'off'}"
        )
        return
    err.print(f"serving {model} on http://{host}:{port} (Ctrl-C to stop)")
    result = serve(config)
    if json_out:
        print_json(result.to_dict())
    else:
        err.print(f"stopped after {result.seconds:.0f} s")
