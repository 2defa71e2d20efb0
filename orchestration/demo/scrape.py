"""What the demo reads off the scoring server's ``/metrics``.

The text is parsed by ``prometheus_client.parser`` and the series are named by the metric
catalogue (:mod:`monitoring.metric_names`), the same names the server declares its
collectors with. Latency quantiles come from the request-duration histogram the way
Prometheus's ``histogram_quantile`` computes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from monitoring.metric_names import (
    BATCH_ROWS,
    MODEL_INFO,
    ONLINE_DRIFT_DETECTED,
    ONLINE_DRIFT_SCORE,
    REQUEST_DURATION,
    REQUESTS,
)

__all__ = ["EXCERPT_SERIES", "MetricsView", "histogram_quantile", "read_metrics"]

ROUTE = "/invocations"
QUANTILES = (0.5, 0.9, 0.99)
# The series the section's excerpt shows, a couple of samples each.
EXCERPT_SERIES = (
    REQUESTS.name,
    f"{REQUEST_DURATION.name}_count",
    f"{REQUEST_DURATION.name}_sum",
    f"{BATCH_ROWS.name}_count",
    f"{BATCH_ROWS.name}_sum",
    MODEL_INFO.name,
    ONLINE_DRIFT_SCORE.name,
    ONLINE_DRIFT_DETECTED.name,
)


@dataclass(frozen=True)
class MetricsView:
    """What the demo reads off ``/metrics``."""

    requests_ok: float
    latency_s: dict[str, float | None]
    batches: float
    batch_rows: float
    drift_scores: dict[str, float]
    drift_methods: dict[str, str]  # the test behind each score (ks: a p-value)
    drift_detected: dict[str, float]
    excerpt: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def drifting(self) -> list[str]:
        """Features whose online drift gauge says drift."""
        return [feature for feature, value in self.drift_detected.items() if value >= 1]


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus's ``histogram_quantile(q, ...)`` of cumulative ``(le, count)`` buckets
    (sorted by ``le``, the last one ``+Inf``): linear interpolation inside the first bucket
    whose count reaches the rank; a rank in the ``+Inf`` bucket answers the largest finite
    bound. None without observations."""
    if not buckets or buckets[-1][1] == 0:
        return None
    rank = q * buckets[-1][1]
    index = next(i for i, (_, count) in enumerate(buckets) if count >= rank)
    upper, count = buckets[index]
    lower, below = buckets[index - 1] if index > 0 else (0.0, 0.0)
    if upper == float("inf"):
        return lower
    if count == below:
        return upper
    return lower + (upper - lower) * (rank - below) / (count - below)


def _line(sample: Sample) -> str:
    """A sample as an exposition line (``name{label="value"} value``)."""
    labels = ",".join(f"{key}={json.dumps(value)}" for key, value in sample.labels.items())
    name = f"{sample.name}{{{labels}}}" if labels else sample.name
    return f"{name} {sample.value}"


def _excerpt(samples: Iterable[Sample], per_series: int = 2) -> tuple[str, ...]:
    """A few samples of each series of :data:`EXCERPT_SERIES` (of the routes, only ROUTE)."""
    shown: dict[str, int] = {}
    lines = []
    for sample in samples:
        if sample.name not in EXCERPT_SERIES or sample.labels.get("route", ROUTE) != ROUTE:
            continue
        if shown.get(sample.name, 0) < per_series:
            shown[sample.name] = shown.get(sample.name, 0) + 1
            lines.append(_line(sample))
    return tuple(lines)


def read_metrics(text: str) -> MetricsView:
    """Requests answered 2xx on ROUTE, its latency quantiles, predict calls and rows, and
    the online drift gauges, from the exposition ``text``."""
    samples = [s for family in text_string_to_metric_families(text) for s in family.samples]
    on_route = [s for s in samples if s.labels.get("route") == ROUTE]
    requests_ok = sum(
        s.value
        for s in on_route
        if s.name == REQUESTS.name and s.labels.get("status", "").startswith("2")
    )
    buckets = sorted(
        (float(s.labels["le"]), s.value)
        for s in on_route
        if s.name == f"{REQUEST_DURATION.name}_bucket"
    )
    by_name: dict[str, list[Sample]] = {}
    for sample in samples:
        by_name.setdefault(sample.name, []).append(sample)

    def total(name: str) -> float:
        return sum(s.value for s in by_name.get(name, []))

    def per_feature(name: str) -> dict[str, Sample]:
        return {s.labels.get("feature", "?"): s for s in by_name.get(name, [])}

    scores = per_feature(ONLINE_DRIFT_SCORE.name)
    return MetricsView(
        requests_ok=requests_ok,
        latency_s={f"p{round(q * 100)}": histogram_quantile(q, buckets) for q in QUANTILES},
        batches=total(f"{BATCH_ROWS.name}_count"),
        batch_rows=total(f"{BATCH_ROWS.name}_sum"),
        drift_scores={feature: s.value for feature, s in scores.items()},
        drift_methods={feature: s.labels.get("method", "?") for feature, s in scores.items()},
        drift_detected={
            feature: s.value for feature, s in per_feature(ONLINE_DRIFT_DETECTED.name).items()
        },
        excerpt=_excerpt(samples),
        names=tuple(sorted(by_name)),
    )
