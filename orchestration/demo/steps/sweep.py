"""Step 1: a grid sweep of projects/rf, two trials at a time; the best trial goes on."""

from __future__ import annotations

from orchestration.demo.context import REPO, DemoContext, Outcome, Step, Table

__all__ = ["COLUMNS", "GRID", "JOBS", "METRIC", "STEP"]

GRID = {"n_estimators": "20,50", "max_depth": "3,5"}
METRIC = "f1"
COLUMNS = ("accuracy", "f1", "roc_auc")
EXPERIMENT = "demo-sweep"
JOBS = 2


def run(ctx: DemoContext) -> Outcome:
    from harness.sweep.operations import SweepProgress, SweepRequest, sweep

    def progress(counts: SweepProgress) -> None:
        ctx.progress(
            f"sweep: {counts.done}/{counts.total} done ({counts.cached} cached, "
            f"{counts.failed} failed), {counts.running} running"
        )

    request = SweepRequest(
        project=str(REPO / "projects" / "rf"),
        params=tuple(GRID.items()),
        metric=METRIC,
        mode="max",
        env_manager="local",
        experiment_name=EXPERIMENT,
        tracking_uri=ctx.tracking_uri,
        jobs=JOBS,
        log_dir=str(ctx.out / "sweep-logs"),
    )
    result = sweep(request, on_progress=progress)
    counts = result.counts
    rows = tuple(
        (
            str(t.index),
            ", ".join(f"{k}={v}" for k, v in t.params.items()),
            t.status if not t.error else f"{t.status}: {t.error}",
            *(f"{t.metrics[m]:.4f}" if m in t.metrics else "-" for m in COLUMNS),
            (t.run_id or "")[:8],
            "yes" if t.cached else "",
        )
        for t in result.trials
    )
    table = Table(
        f"sweep {result.parent_run_id} ({result.state}), best by {METRIC}",
        ("trial", "params", "status", *COLUMNS, "run", "cached"),
        rows,
    )
    best = result.best
    if best is not None and best.run_id is not None:
        ctx.state.best_run_id = best.run_id
    ok = best is not None and not result.any_failed and counts["finished"] == len(result.trials)
    best_text = (
        f"best trial {best.index} ({' '.join(f'{k}={v}' for k, v in best.params.items())}) "
        f"{METRIC}={best.value:.4f}"
        if best is not None and best.value is not None
        else "no best trial"
    )
    return Outcome(
        ok,
        f"{counts['finished']} of {len(result.trials)} trials finished "
        f"({counts['cached']} cached, {counts['failed']} failed) in {result.wall_s:.1f} s "
        f"with {JOBS} jobs"
        + (" (the earlier identical sweep, from the sweep memo)" if result.from_memo else "")
        + f"; {best_text}",
        details={
            "parent_run_id": result.parent_run_id,
            "state": result.state,
            "trials": len(result.trials),
            "finished": counts["finished"],
            "cached": counts["cached"],
            "failed": counts["failed"],
            "metric": METRIC,
            "best_run_id": best.run_id if best else None,
            "best_value": best.value if best else None,
            "best_params": dict(best.params) if best else None,
            "wall_s": round(result.wall_s, 2),
            "from_memo": result.from_memo,
        },
        tables=(table,),
    )


STEP = Step("sweep", "1. sweep of projects/rf", run)
