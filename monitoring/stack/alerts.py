"""The alerts, as data: expression, severity, ``for``, annotations, and the test cases (at
least one that fires, one that stays quiet) that ``promtool test rules`` runs for each.

Every threshold and window comes from :class:`~monitoring.stack.settings.StackSettings`.
This module holds the ten threshold alerts and the list of every alert of the stack; the
freshness and meta-monitoring alerts are in :mod:`~monitoring.stack.meta`, the golden
requests' in :mod:`~monitoring.stack.golden`, the SLO's burn rates in
:mod:`~monitoring.stack.slo`.
"""

from __future__ import annotations

import math
import re

from monitoring.policy import METHODS
from monitoring.stack.alert_types import (
    SEVERITIES,
    Alert,
    Series,
    TestCase,
    expand_labels,
    number,
    percent,
)
from monitoring.stack.alert_types import steps as _steps
from monitoring.stack.golden import golden_alerts
from monitoring.stack.meta import meta_alerts
from monitoring.stack.settings import JOB_BLACKBOX, StackSettings, duration
from monitoring.stack.slo import slo_alerts

__all__ = [
    "SEVERITIES",
    "Alert",
    "Series",
    "TestCase",
    "alerts_for",
    "expand_labels",
    "number",
    "percent",
    "threshold_alerts",
]

INVOCATIONS = "/invocations"


def alerts_for(s: StackSettings) -> list[Alert]:
    """Every alert of the stack, in the order the README lists them: the ten threshold
    alerts, freshness and meta-monitoring, golden answers, then the SLO's burn rates."""
    return [*threshold_alerts(s), *meta_alerts(s), *golden_alerts(s), *slo_alerts(s)]


def threshold_alerts(s: StackSettings) -> list[Alert]:
    """The ten threshold alerts."""
    i = s.scrape_s
    ev = s.evaluation_s
    f = s.for_s
    scoring = s.scoring
    static = {"pipeline": s.pipeline}
    serving_labels = {**static, "service": "scoring"}
    drift_labels = {**static, "service": "drift-check"}
    instance = s.serving.address
    # Long enough for a rate window to fill, the ``for`` to pass, and two evaluations.
    rate_eval = s.rate_window_s + f + 2 * max(i, ev)
    n_rate = _steps(rate_eval, i)
    # Event alerts: the event at 2i, then ``for`` and two evaluations, inside the window.
    event_eval = 2 * i + f + 2 * ev
    n_event = _steps(event_eval, i)
    alerts: list[Alert] = []

    # -- EndpointDown ------------------------------------------------------------------------
    target = f"{s.serving.url}/ping"
    probe = f'probe_success{{job="{JOB_BLACKBOX}",service="scoring",instance="{target}"}}'
    n = _steps(f + 2 * ev, i)
    alerts.append(
        Alert(
            name="EndpointDown",
            severity="critical",
            expr=f'probe_success{{job="{JOB_BLACKBOX}"}} == 0',
            for_s=f,
            summary="{{ $labels.service }} does not answer its health probe",
            description=(
                "The blackbox probe of {{ $labels.instance }} ({{ $labels.service }}) has failed "
                f"for {duration(f)}."
            ),
            runbook=(
                "The service is down or unreachable from Prometheus. Check that its process or "
                "container runs (`docker-compose ps`), read its log, and probe it by hand: "
                "`curl -fsS <instance>`. While it is down, its warnings are inhibited."
            ),
            labels=static,
            firing=TestCase(
                i,
                f + 2 * ev,
                (Series(probe, f"0x{n}"),),
                True,
                {"job": JOB_BLACKBOX, "service": "scoring", "instance": target},
            ),
            quiet=TestCase(i, f + 2 * ev, (Series(probe, f"1x{n}"),), False),
        )
    )

    # -- HighP99Latency ----------------------------------------------------------------------
    t = s.p99_latency_s
    bucket = "mlharness_http_request_duration_seconds_bucket"
    sel = f'{scoring},route="{INVOCATIONS}"'
    les = (number(t / 2), number(t * 2), "+Inf")

    def buckets(counts: tuple[int, int, int]) -> tuple[Series, ...]:
        return tuple(
            Series(f'{bucket}{{{sel},instance="{instance}",le="{le}"}}', f"0+{c}x{n_rate}")
            for le, c in zip(les, counts, strict=True)
        )

    alerts.append(
        Alert(
            name="HighP99Latency",
            severity="warning",
            expr=(
                f"histogram_quantile(0.99, sum by (le) (rate({bucket}{{{sel}}}[{s.rate_window}])))"
                f" > {number(t)}"
            ),
            for_s=f,
            summary="p99 latency of /invocations is above " + f"{number(t)} s",
            description=(
                f"The 99th percentile of /invocations latency over {s.rate_window} has been above "
                f"{number(t)} s for {duration(f)}."
            ),
            runbook=(
                "Requests queue or predict calls got slower. Compare queue depth and batch rows "
                "on the dashboard: a full queue means too little capacity (more `--workers`, a "
                "larger `max_batch_rows`); slow predicts with an empty queue mean the model got "
                "heavier (check ModelVersionChanged)."
            ),
            labels=serving_labels,
            firing=TestCase(i, rate_eval, buckets((0, 0, 10)), True, {}),
            quiet=TestCase(i, rate_eval, buckets((10, 10, 10)), False),
        )
    )

    # -- HighErrorRatio ----------------------------------------------------------------------
    t = s.error_ratio
    requests = "mlharness_http_requests_total"

    def statuses(ok: int, failed: int) -> tuple[Series, ...]:
        return tuple(
            Series(f'{requests}{{{sel},instance="{instance}",status="{code}"}}', f"0+{c}x{n_rate}")
            for code, c in (("200", ok), ("500", failed))
        )

    alerts.append(
        Alert(
            name="HighErrorRatio",
            severity="critical",
            expr=(
                f'sum(rate({requests}{{{sel},status=~"5.."}}[{s.rate_window}])) / '
                f"sum(rate({requests}{{{sel}}}[{s.rate_window}])) >= {number(t)}"
            ),
            for_s=f,
            summary=f"At least {percent(t)} of /invocations requests fail",
            description=(
                f"The share of 5xx answers of /invocations over {s.rate_window} has been at least "
                f"{number(t)} for {duration(f)}."
            ),
            runbook=(
                "The model raises, the queue is full (503) or a worker died. Read the server log "
                "for the request ids of the failures; a 503 storm is QueueSaturated's cause; an "
                "exception inside the model after a version switch calls for a rollback "
                "(`mlharness registry rollback`)."
            ),
            labels=serving_labels,
            firing=TestCase(i, rate_eval, statuses(0, 10), True, {}),
            quiet=TestCase(i, rate_eval, statuses(10, 0), False),
        )
    )

    # -- QueueSaturated ----------------------------------------------------------------------
    t = s.queue_saturation
    capacity = 1000
    full = min(capacity, math.floor(capacity * (t + 1) / 2) + 1)

    def queue(rows: int) -> tuple[Series, ...]:
        return (
            Series(f'mlharness_queue_rows{{{scoring},instance="{instance}"}}', f"{rows}x{n_rate}"),
            Series(
                f'mlharness_queue_capacity_rows{{{scoring},instance="{instance}"}}',
                f"{capacity}x{n_rate}",
            ),
        )

    alerts.append(
        Alert(
            name="QueueSaturated",
            severity="warning",
            expr=(
                f"sum by (instance) (mlharness_queue_rows{{{scoring}}}) / "
                f"sum by (instance) (mlharness_queue_capacity_rows{{{scoring}}}) >= {number(t)}"
            ),
            for_s=f,
            summary="The scoring queue of {{ $labels.instance }} is nearly full",
            description=(
                f"Rows waiting for a predict call have been at least {percent(t)} of the "
                f"queue's capacity for {duration(f)}; beyond it requests get 503."
            ),
            runbook=(
                "Requests arrive faster than predict calls finish. Add workers "
                "(`serving.workers`), raise `serving.max_batch_rows` so each predict call takes "
                "more rows, or shed load upstream."
            ),
            labels=serving_labels,
            firing=TestCase(i, f + 2 * ev, queue(full), True, {"instance": instance}),
            quiet=TestCase(i, f + 2 * ev, queue(0), False),
        )
    )

    # -- ModelReloadFailed -------------------------------------------------------------------
    failures = f'mlharness_model_reload_failures_total{{{scoring},instance="{instance}"}}'
    alerts.append(
        Alert(
            name="ModelReloadFailed",
            severity="warning",
            expr=(
                f"increase(mlharness_model_reload_failures_total{{{scoring}}}[{s.event_window}])"
                " > 0"
            ),
            for_s=f,
            summary="{{ $labels.instance }} failed to load a new model version",
            description=(
                f"A new version of {s.model}@{s.alias} failed to load or warm up in the last "
                f"{s.event_window}; the previous version keeps serving."
            ),
            runbook=(
                "The alias points at a version the server cannot load (missing artifact, "
                "dependency mismatch, signature change). Read the server log for the reload "
                f"error, then fix the version or move `{s.alias}` back."
            ),
            labels=serving_labels,
            firing=TestCase(
                i,
                event_eval,
                (Series(failures, f"0 0 1x{n_event}"),),
                True,
                {"job": "scoring", "instance": instance},
            ),
            quiet=TestCase(i, event_eval, (Series(failures, f"0x{n_event}"),), False),
        )
    )

    # -- FeatureDrift ------------------------------------------------------------------------
    t = s.feature_drift_score
    feature = s.features[0] if s.features else "feature_0"
    feature_sel = scoring
    if s.features:
        # A regex inside a PromQL string: escape for the regex, then for the string.
        alternatives = "|".join(re.escape(x).replace("\\", "\\\\") for x in s.features)
        feature_sel += f',feature=~"{alternatives}"'
    # Distances (higher: more drift) are compared with the config's threshold; p-value tests
    # (lower: more drift) are not comparable with it, so the engine's own decision counts.
    distances = "|".join(m for m, (_, side) in sorted(METHODS.items()) if side == "above")
    where = f'{scoring},instance="{instance}",feature="{feature}"'

    def drift(score: float) -> tuple[Series, ...]:
        return (
            Series(f'mlharness_online_drift_score{{{where},method="psi"}}', f"{number(score)}x{n}"),
            Series(f"mlharness_online_drift_detected{{{where}}}", f"0x{n}"),
        )

    n = _steps(f + 2 * ev, i)
    alerts.append(
        Alert(
            name="FeatureDrift",
            severity="warning",
            expr=(
                f"max by (feature) (mlharness_online_drift_detected{{{feature_sel}}}) == 1 or "
                f"max by (feature) (mlharness_online_drift_score"
                f'{{{feature_sel},method=~"{distances}"}}) > {number(t)}'
            ),
            for_s=f,
            summary="Input feature {{ $labels.feature }} drifted from the reference profile",
            description=(
                "Over the scoring server's rolling window, {{ $labels.feature }} has drifted from "
                f"the reference profile for {duration(f)} (the drift engine's test decided, or "
                f"its distance is above {number(t)})."
            ),
            runbook=(
                "Live inputs no longer look like the training data. Compare the feature on the "
                "dashboard's drift panel with the batch check (`mlharness monitor drift`), look "
                "for an upstream change (units, encoding, a broken join), and retrain if the "
                "shift is real."
            ),
            labels=serving_labels,
            firing=TestCase(i, f + 2 * ev, drift(t * 2), True, {"feature": feature}),
            quiet=TestCase(i, f + 2 * ev, drift(t / 2), False),
        )
    )

    # -- DatasetDrift ------------------------------------------------------------------------
    t = s.dataset_drift_share
    share = 'mlharness_dataset_drift_share{job="mlharness_drift",dataset="batch"}'
    alerts.append(
        Alert(
            name="DatasetDrift",
            severity="warning",
            expr=f"max by (dataset) (mlharness_dataset_drift_share) >= {number(t)}",
            for_s=f,
            summary="The batch drift check found data-set drift in {{ $labels.dataset }}",
            description=(
                "The share of drifting features in {{ $labels.dataset }} reached "
                f"{number(t)} (pushed by the drift check)."
            ),
            runbook=(
                "The scheduled drift check (`mlharness monitor drift`) found that enough "
                "features drifted. Open its HTML report, decide whether the shift is real, and "
                "let the drift DAG retrain (`drift.on_drift: retrain`) or retrain by hand."
            ),
            labels=drift_labels,
            firing=TestCase(
                i,
                f + 2 * ev,
                (Series(share, f"{number((t + 1) / 2)}x{n}"),),
                True,
                {"dataset": "batch"},
            ),
            quiet=TestCase(i, f + 2 * ev, (Series(share, f"{number(t / 2)}x{n}"),), False),
        )
    )

    # -- DriftCheckStale ---------------------------------------------------------------------
    age = s.drift_check_max_age_s
    last = 'mlharness_drift_last_success_timestamp_seconds{job="mlharness_drift"}'
    # The firing and the quiet case sit at the rules' interval, like every other alert's:
    # the pushed value is a timestamp, so a last success just over (or just under) ``age``
    # before the test starts needs no days of evaluation. Just over: it fires once ``for``
    # has passed; just under while the check keeps pushing: it stays quiet.
    n = _steps(f + 2 * ev, i)
    # The stale case needs the days: the series goes stale right after the start, and only
    # a lookback that covers ``age`` and the ``for`` still sees the last success. Samples at
    # most 4 minutes apart (an instant lookup sees 5); the rules are evaluated about 24 times
    # per ``age`` (the firing case above proves the ``for``, this one that the alert fires
    # at all once its series went stale).
    step = max(i, min(240, math.ceil(age / 200)))
    slow_eval = max(ev, step * math.ceil(age / 24 / step))
    stale_eval = age + f + 2 * slow_eval
    # Long enough to cover the age and the ``for`` after the series went stale.
    lookback = 2 * age + f
    alerts.append(
        Alert(
            name="DriftCheckStale",
            severity="warning",
            # max_over_time: the last success still counts after its series went stale (the
            # Pushgateway restarted, the push job vanished), so the alert can fire at all.
            expr=(
                "time() - max(max_over_time(mlharness_drift_last_success_timestamp_seconds"
                f"[{duration(lookback)}])) > {age}"
            ),
            for_s=f,
            summary="The drift check has not completed for more than " + duration(age),
            description=(
                "The last successful drift check pushed to the Pushgateway is older than "
                f"{duration(age)}: drift is not being watched."
            ),
            runbook=(
                "The drift DAG did not run or failed before pushing. Check its runs in Airflow, "
                "that the Pushgateway is reachable from the workers "
                "(`monitoring.pushgateway_url`), and run "
                "`mlharness monitor drift ... --pushgateway URL` by hand."
            ),
            labels=drift_labels,
            firing=TestCase(i, f + 2 * ev, (Series(last, f"{-age}x{n}"),), True, {}),
            quiet=TestCase(i, f + 2 * ev, (Series(last, f"{-(age - 2 * i)}+{i}x{n}"),), False),
            more=(
                # The check pushed once, then its series went stale: it still fires.
                TestCase(
                    step,
                    stale_eval,
                    (Series(last, "0x3 stale"),),
                    True,
                    {},
                    evaluation_s=slow_eval,
                    name="fires after its series went stale",
                ),
            ),
        )
    )

    # -- NoTraffic ---------------------------------------------------------------------------
    minutes = s.no_traffic_minutes
    predictions = f'mlharness_predictions_total{{{scoring},instance="{instance}"}}'
    n = _steps(i + f + 2 * ev, i)
    alerts.append(
        Alert(
            name="NoTraffic",
            severity="warning",
            expr=(
                f"sum(increase(mlharness_predictions_total{{{scoring}}}[{minutes}m])) == 0"
                f" or absent(mlharness_predictions_total{{{scoring}}})"
            ),
            for_s=f,
            summary=f"{s.model} predicted nothing for {minutes} minutes",
            description=(
                f"No rows were predicted in the last {minutes} minutes, or the scoring server's "
                "metrics are gone."
            ),
            runbook=(
                "Clients stopped calling, a load balancer lost the server, or the server is "
                "down (then EndpointDown fires too and inhibits this warning). Check the "
                "clients' side and `mlharness_http_requests_total` by route."
            ),
            labels=serving_labels,
            firing=TestCase(i, i + f + 2 * ev, (Series(predictions, f"0x{n}"),), True, {}),
            quiet=TestCase(i, i + f + 2 * ev, (Series(predictions, f"0+5x{n}"),), False),
        )
    )

    # -- ModelVersionChanged -----------------------------------------------------------------
    info = "mlharness_model_info"

    def version(v: str, values: str) -> Series:
        return Series(
            f'{info}{{{scoring},instance="{instance}",name="{s.model}",version="{v}",'
            f'alias="{s.alias}",run_id="r{v}"}}',
            values,
        )

    change_eval = 4 * i + f + 2 * ev
    n = _steps(change_eval, i)
    alerts.append(
        Alert(
            name="ModelVersionChanged",
            severity="info",
            expr=(
                f"count by (name) (max by (name, version) "
                f"(max_over_time({info}{{{scoring}}}[{s.event_window}]))) > 1"
            ),
            for_s=f,
            summary="{{ $labels.name }} switched to a new version",
            description=(
                f"The scoring server served more than one version of {{{{ $labels.name }}}} in "
                f"the last {s.event_window} (a promotion of {s.alias}, or a rollback)."
            ),
            runbook=(
                "Informational: the alias moved and the server reloaded. Watch latency, errors "
                "and drift for the next hour; `mlharness registry lineage` shows what changed."
            ),
            labels=serving_labels,
            firing=TestCase(
                i,
                change_eval,
                (version("1", "1x3"), version("2", f"_x3 1x{n}")),
                True,
                {"name": s.model},
            ),
            quiet=TestCase(i, change_eval, (version("1", f"1x{n}"),), False),
        )
    )
    return alerts
