"""Step 4: serve the champion, send a burst of traffic and a drifted batch, read /metrics.

The champion's test split (an artifact of its run) is the traffic; a copy with some
features shifted is the drifted batch, which the server's online drift gauges must flag.
The reference profile the server compares against is built here, beside the run.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import httpx
import pandas as pd

from harness.kernel.atomic import write_text_atomic
from orchestration.demo.context import DemoContext, NotReached, Outcome, Step, Table
from orchestration.demo.scrape import MetricsView, read_metrics
from orchestration.demo.traffic import burst, dataframe_split_bodies
from orchestration.processes import free_port, wait_http_ok

__all__ = ["STEP"]

# Features the drifted batch shifts (20 of 30: more than the data-set drift share of 0.5).
SHIFTED_PREFIXES = ("mean_", "worst_")
SHIFT_STD = 1.5
BURST_REQUESTS = 240
BURST_THREADS = 8
DRIFTED_ROWS_PER_REQUEST = 10
SERVE_TIMEOUT_S = 180.0
DRIFT_INTERVAL_S = 0.5
DRIFT_WAIT_S = 15.0


def _prepare_data(ctx: DemoContext) -> tuple[Path, Path]:
    """The champion run's test split, and a drifted copy of it (some features shifted)."""
    from harness.store.registry import Registry

    registry = Registry(ctx.tracking_uri)
    version = registry.holder(ctx.model, ctx.alias)
    if version is None:
        raise NotReached(f"model {ctx.model!r} has no alias {ctx.alias!r} (step 2 failed)")
    run_id = registry.get_version(ctx.model, version).run_id
    if not run_id:
        raise NotReached(f"version {version} of {ctx.model!r} has no source run")
    data = ctx.out / "data"
    data.mkdir(parents=True, exist_ok=True)
    downloaded = registry.download_artifact(run_id, "data/test.csv", tempfile.mkdtemp())
    test = pd.read_csv(downloaded)
    test_csv = data / "test.csv"
    test.to_csv(test_csv, index=False)
    drifted = test.copy()
    for column in drifted.columns:
        if column.startswith(SHIFTED_PREFIXES):
            drifted[column] = drifted[column] + SHIFT_STD * float(test[column].std())
    drifted_csv = data / "drifted.csv"
    drifted.drop(columns=["target"]).to_csv(drifted_csv, index=False)
    ctx.state.test_csv, ctx.state.drifted_csv = test_csv, drifted_csv
    return test_csv, drifted_csv


def _build_profile(ctx: DemoContext) -> Path:
    """The champion's reference profile, logged beside its run (what the server reads)."""
    from monitoring.operations import ProfileOptions, build_reference_profile

    path = ctx.out / "profile" / "profile.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    options = ProfileOptions(model=ctx.champion_uri, tracking_uri=ctx.tracking_uri)
    build_reference_profile(None, path, options)
    ctx.state.profile = path
    return path


def _settled_metrics(base: str, *, drifting: bool) -> str:
    """``/metrics`` once the online drift gauges were updated after the traffic so far
    (two update intervals), or as soon as a feature drifts when ``drifting``."""
    deadline = time.monotonic() + max(3 * DRIFT_INTERVAL_S, DRIFT_WAIT_S if drifting else 0)
    settle = time.monotonic() + 2 * DRIFT_INTERVAL_S
    while True:
        text = httpx.get(f"{base}/metrics", timeout=30.0).text
        now = time.monotonic()
        if drifting and read_metrics(text).drifting:
            return text
        if now >= deadline or (not drifting and now >= settle):
            return text
        time.sleep(DRIFT_INTERVAL_S / 2)


def _table(
    view: MetricsView, before: MetricsView, burst_text: tuple[str, ...], rate: float
) -> Table:
    drifting = view.drifting
    scores = ", ".join(
        f"{f} {view.drift_methods.get(f, '?')}={view.drift_scores[f]:.2g}"
        for f in drifting[:3]
        if f in view.drift_scores
    )
    return Table(
        "traffic and /metrics",
        ("what", "value"),
        (
            ("burst", burst_text[0]),
            ("burst answers", burst_text[1]),
            (
                "request rate (/metrics)",
                f"{rate:.0f} requests/s (2xx /invocations counted over the burst)",
            ),
            ("drifted batch", burst_text[2]),
            ("2xx /invocations (server)", f"{view.requests_ok:.0f}"),
            *(
                (f"latency {q} (histogram)", "-" if v is None else f"{v * 1000:.1f} ms")
                for q, v in view.latency_s.items()
            ),
            (
                "predict calls, rows",
                f"{view.batches:.0f} calls, {view.batch_rows:.0f} rows "
                f"({view.batch_rows / max(view.batches, 1):.1f} rows per call)",
            ),
            (
                "features drifting (online)",
                f"{len(before.drifting)} of {len(before.drift_detected)} after the burst, "
                f"{len(drifting)} of {len(view.drift_detected)} after the drifted batch",
            ),
            (
                "drifting features (online)",
                ", ".join(drifting[:6]) + (" ..." if len(drifting) > 6 else "") or "-",
            ),
            ("their scores", scores or "-"),
        ),
    )


def run(ctx: DemoContext) -> Outcome:
    if ctx.state.champion_version is None:
        raise NotReached("no champion to serve (step 2 did not promote)")
    test_csv, drifted_csv = _prepare_data(ctx)
    profile = _build_profile(ctx)
    features = pd.read_csv(test_csv).drop(columns=["target"])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = ctx.supervisor.start(
        "serve",
        [
            str(ctx.bin / "mlharness"),
            "serve",
            ctx.champion_uri,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            # The window is one test split, updated every half second (an update with no
            # new rows costs nothing): the drifted batch replaces the whole window and the
            # gauges show it within a second or two.
            "--drift-window-rows",
            str(len(features)),
            "--drift-interval",
            str(DRIFT_INTERVAL_S),
        ],
        env=ctx.env(),
    )
    ctx.record_pids()
    wait_http_ok(f"{base}/ping", server, SERVE_TIMEOUT_S)
    invocations = f"{base}/invocations"
    sizes = [1 + i % 5 for i in range(BURST_REQUESTS)]
    ctx.progress(f"a burst of {BURST_REQUESTS} requests from {BURST_THREADS} threads")
    idle = read_metrics(httpx.get(f"{base}/metrics", timeout=30.0).text)
    traffic = burst(invocations, dataframe_split_bodies(features, sizes), sum(sizes), BURST_THREADS)
    before = read_metrics(_settled_metrics(base, drifting=False))
    drifted = pd.read_csv(drifted_csv)
    chunks = -(-len(drifted) // DRIFTED_ROWS_PER_REQUEST)
    ctx.progress(f"a drifted batch of {len(drifted)} rows")
    shifted = burst(
        invocations,
        dataframe_split_bodies(drifted, [DRIFTED_ROWS_PER_REQUEST] * chunks),
        len(drifted),
        BURST_THREADS,
    )
    text = _settled_metrics(base, drifting=True)
    metrics_file = ctx.out / "serve" / "metrics.txt"
    metrics_file.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(metrics_file, text)
    ctx.supervisor.stop(server)
    view = read_metrics(text)
    # The request rate as Prometheus would compute it: the counter's increase over the burst.
    server_rate = (before.requests_ok - idle.requests_ok) / max(traffic.seconds, 1e-9)
    failed = {s: n for t in (traffic, shifted) for s, n in t.statuses.items() if s != "200"}
    burst_text = (
        f"{traffic.requests} requests, {traffic.rows} rows, {BURST_THREADS} threads",
        ", ".join(f"{s}: {n}" for s, n in traffic.statuses.items()),
        f"{shifted.requests} requests, {shifted.rows} rows",
    )
    return Outcome(
        not failed and view.requests_ok > 0,
        f"served {ctx.champion_uri} (v{ctx.state.champion_version}) on port {port}: "
        f"{traffic.requests + shifted.requests} requests"
        + (f", non-200 answers {failed}" if failed else ", all 200")
        + f", {len(view.drifting)} feature(s) drifting online",
        details={
            "model_uri": ctx.champion_uri,
            "port": port,
            "requests": traffic.requests + shifted.requests,
            "statuses": {
                **traffic.statuses,
                **{f"drifted {s}": n for s, n in shifted.statuses.items()},
            },
            "burst_rate_per_s": round(traffic.rate, 1),
            "request_rate_per_s": round(server_rate, 1),
            "requests_ok_server": view.requests_ok,
            "latency_s": dict(view.latency_s),
            "batches": view.batches,
            "batch_rows": view.batch_rows,
            "drift_scores": view.drift_scores,
            "drift_methods": view.drift_methods,
            "drift_detected": view.drift_detected,
            "drifting_after_burst": len(before.drifting),
            "drifting_after_drifted_batch": len(view.drifting),
            "metric_names": list(view.names),
        },
        artifacts={"profile": str(profile), "metrics": str(metrics_file)},
        tables=(_table(view, before, burst_text, server_rate),),
        excerpt=view.excerpt,
    )


STEP = Step("serve", "4. mlharness serve: traffic, a drifted batch, /metrics", run)
