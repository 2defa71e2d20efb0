"""Freshness and meta-monitoring: the alerts that fire when the monitoring itself goes blind.

A threshold alert on a series that is gone never fires: a stopped scrape job, a restarted
Pushgateway or a blackbox exporter that died all look like "no problem". So every scrape job
has an ``absent()`` alert, the drift gauges have one, ``ModelStale`` watches the champion's
age, and ``Watchdog`` always fires: routed to a heartbeat receiver (a dead man's switch), its
silence says the whole chain Prometheus -> Alertmanager -> receiver is broken.
"""

from __future__ import annotations

from monitoring.stack.alert_types import Alert, Series, TestCase, steps
from monitoring.stack.settings import JOB_SCORING, StackSettings, duration

__all__ = ["WATCHDOG", "meta_alerts"]

WATCHDOG = "Watchdog"
BATCH_DRIFT_LAST = "mlharness_drift_last_success_timestamp_seconds"
ONLINE_DRIFT = "mlharness_online_drift_detected"


def _with_labels(expr: str, labels: dict[str, str]) -> str:
    """``expr`` with constant labels added by ``label_replace`` (an ``absent()`` result has
    none of its own once its argument is not a bare selector)."""
    for name, value in sorted(labels.items()):
        expr = f'label_replace({expr}, "{name}", "{value}", "", "")'
    return expr


def meta_alerts(s: StackSettings) -> list[Alert]:
    """ModelStale, Watchdog, ScrapeJobAbsent, DriftMetricsAbsent."""
    i, ev, f = s.scrape_s, s.evaluation_s, s.for_s
    static = {"pipeline": s.pipeline}
    instance = s.serving.address
    quick_eval = f + 2 * ev
    n = steps(quick_eval, i)
    alerts: list[Alert] = []

    # -- ModelStale ------------------------------------------------------------------------
    age = s.model_max_age_s
    created = (
        f'mlharness_model_created_timestamp_seconds{{{s.scoring},instance="{instance}",'
        f'name="{s.model}"}}'
    )
    # Registered before the test's time 0 by more than the age (a negative Unix time is as
    # good as any for time() - x), or just now.
    old = -(age + 60)
    alerts.append(
        Alert(
            name="ModelStale",
            severity="warning",
            expr=(
                "time() - max by (name) "
                f"(mlharness_model_created_timestamp_seconds{{{s.scoring}}}) > {age}"
            ),
            for_s=f,
            summary="The served version of {{ $labels.name }} is older than " + duration(age),
            description=(
                f"The version of {{{{ $labels.name }}}} served as {s.alias} was registered more "
                f"than {duration(age)} ago: the pipeline has not promoted a newer model."
            ),
            runbook=(
                "Training stopped producing champions. Check the train DAG's recent runs in "
                "Airflow: a failing step, a sensor waiting for data that never comes, or gates "
                "that refuse every candidate (`gate_failed` branches). `mlharness registry "
                f"versions {s.model}` shows the newest versions and their aliases."
            ),
            labels={**static, "service": "scoring"},
            firing=TestCase(
                i, quick_eval, (Series(created, f"{old}x{n}"),), True, {"name": s.model}
            ),
            quiet=TestCase(i, quick_eval, (Series(created, f"0x{n}"),), False),
        )
    )

    # -- Watchdog ----------------------------------------------------------------------------
    alerts.append(
        Alert(
            name=WATCHDOG,
            severity="info",
            expr="vector(1)",
            for_s=0,
            summary="The alerting pipeline works (always firing)",
            description=(
                "Always firing, routed to the heartbeat receiver every "
                f"{duration(s.heartbeat_interval_s)}: when the heartbeats stop, Prometheus, "
                "Alertmanager or the route to the receiver is broken."
            ),
            runbook=(
                "Nothing to do while it fires. Point a dead man's switch (a heartbeat service "
                "that alerts when pings stop) at `monitoring.alerts.heartbeat_url_file`; if it "
                "reports missing heartbeats, check that Prometheus and Alertmanager run and "
                "that `amtool config routes test alertname=Watchdog` names the heartbeat "
                "receiver."
            ),
            labels={**static, "service": "monitoring"},
            firing=TestCase(i, 2 * ev, (), True, {}),
            quiet=None,
        )
    )

    # -- ScrapeJobAbsent ---------------------------------------------------------------------
    jobs = s.scrape_jobs()
    parts = [
        _with_labels(f'absent(up{{job="{job}"}} == 1)', {"job": job, "service": service})
        for job, service in jobs
    ]
    missing_job, missing_service = jobs[-1]

    def ups(down: str | None) -> tuple[Series, ...]:
        return tuple(
            Series(f'up{{job="{job}",instance="target-{job}"}}', f"{0 if job == down else 1}x{n}")
            for job, _ in jobs
        )

    alerts.append(
        Alert(
            name="ScrapeJobAbsent",
            severity="warning",
            expr=" or ".join(parts),
            for_s=f,
            summary="Prometheus scrapes nothing of job {{ $labels.job }}",
            description=(
                "No target of the scrape job {{ $labels.job }} has been up for "
                f"{duration(f)}: every alert that reads its series is blind."
            ),
            runbook=(
                "Open Prometheus' Targets page: the job's target is down, unreachable or gone "
                "from prometheus.yml. A scoring server that is down also fires EndpointDown "
                "(which inhibits this warning); a blackbox exporter that is down leaves every "
                "probe, EndpointDown and WrongAnswers included, without data."
            ),
            labels=static,
            firing=TestCase(
                i,
                quick_eval,
                ups(missing_job),
                True,
                {"job": missing_job, "service": missing_service},
            ),
            quiet=TestCase(i, quick_eval, ups(None), False),
        )
    )

    # -- DriftMetricsAbsent ------------------------------------------------------------------
    gauges = [_with_labels(f"absent({BATCH_DRIFT_LAST})", {"source": "batch"})]
    if s.features:  # online drift gauges exist only where features are watched
        gauges.append(
            _with_labels(f'absent({ONLINE_DRIFT}{{job="{JOB_SCORING}"}})', {"source": "online"})
        )
    present = [Series(f'{BATCH_DRIFT_LAST}{{job="mlharness_drift"}}', f"0x{n}")]
    if s.features:
        present.append(
            Series(
                f'{ONLINE_DRIFT}{{job="{JOB_SCORING}",instance="{instance}",'
                f'feature="{s.features[0]}"}}',
                f"0x{n}",
            )
        )
    alerts.append(
        Alert(
            name="DriftMetricsAbsent",
            severity="warning",
            expr=" or ".join(gauges),
            for_s=f,
            summary="The {{ $labels.source }} drift gauges are missing",
            description=(
                "Prometheus holds no {{ $labels.source }} drift gauge: drift alerts cannot "
                "fire (batch: the drift check never pushed, or the Pushgateway lost its "
                "groups; online: the scoring server exports none)."
            ),
            runbook=(
                "Batch: run the drift DAG (or `mlharness monitor drift ... --pushgateway URL`) "
                "and check that the Pushgateway keeps its groups across restarts "
                "(`--persistence.file`). Online: the served version needs a reference profile "
                "(`mlharness monitor profile --model ...`) for the server to compute drift."
            ),
            labels={**static, "service": "drift-check"},
            firing=TestCase(i, quick_eval, tuple(present[1:]), True, {"source": "batch"}),
            quiet=TestCase(i, quick_eval, tuple(present), False),
        )
    )
    return alerts
