"""Step 5: the drift report of the drifted batch against the champion's reference profile."""

from __future__ import annotations

from orchestration.demo.context import DemoContext, NotReached, Outcome, Step, Table

__all__ = ["STEP"]

REPORT_COLUMNS = ("column", "role", "test", "score", "threshold", "drift")


def run(ctx: DemoContext) -> Outcome:
    if ctx.state.profile is None or ctx.state.drifted_csv is None:
        raise NotReached("no reference profile or drifted batch (step 4 failed)")
    from monitoring.operations import DriftOutputs, check_drift
    from monitoring.report_html import summary_rows

    html = ctx.out / "drift-report.html"
    report_file = ctx.out / "drift-report.json"
    gauges = ctx.out / "drift-report.prom"
    outcome = check_drift(
        ctx.state.profile,
        ctx.state.drifted_csv,
        outputs=DriftOutputs(report=report_file, html=html, prometheus_textfile=gauges),
    )
    result = outcome.result
    assert result is not None
    drifted = [c.name for c in result.columns if c.role == "feature" and c.drift]
    rows = summary_rows(result)
    shown = [r for r in rows if r["drift"] == "yes"][:4] + [r for r in rows if r["drift"] != "yes"][
        :2
    ]
    table = Table(
        f"drift report: {len(drifted)} of {result.n_features} features drifted "
        f"(a few rows of {len(rows)})",
        REPORT_COLUMNS,
        tuple(tuple(str(r[k]) for k in REPORT_COLUMNS) for r in shown),
    )
    verdict = "DRIFT" if result.dataset_drift else "no drift"
    return Outcome(
        result.dataset_drift,
        f"{verdict}: {result.n_drifted_features} of {result.n_features} features drifted "
        f"(share {result.drift_share:.2f}, threshold {result.drift_share_threshold:.2f}) "
        f"in {result.seconds:.2f} s",
        details={
            "dataset_drift": result.dataset_drift,
            "n_features": result.n_features,
            "n_drifted": result.n_drifted_features,
            "drifted": drifted,
            "html": str(html),
        },
        artifacts={
            "HTML report": str(html),
            "JSON report": str(report_file),
            "drift gauges": str(gauges),
        },
        tables=(table,),
    )


STEP = Step("drift", "5. drift report of the drifted batch (HTML)", run)
