"""What the demo reads off /metrics: a real prometheus_client registry's exposition text,
parsed back; quantiles as Prometheus's histogram_quantile computes them."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from monitoring.metric_names import (
    BATCH_ROWS,
    ONLINE_DRIFT_DETECTED,
    ONLINE_DRIFT_SCORE,
    REQUEST_DURATION,
    REQUESTS,
)
from orchestration.demo.scrape import histogram_quantile, read_metrics

INF = math.inf


@pytest.mark.parametrize(
    "q,buckets,expected",
    [
        # rank 5 of 10 in (0.1, 0.2]: 0.1 + 0.1 * (5 - 4) / (8 - 4)
        (0.5, [(0.1, 4.0), (0.2, 8.0), (INF, 10.0)], 0.125),
        # rank 1 in the first bucket: interpolated from 0
        (0.25, [(0.4, 4.0), (INF, 4.0)], 0.1),
        # rank in the +Inf bucket: the largest finite bound
        (0.99, [(0.1, 4.0), (0.2, 8.0), (INF, 10.0)], 0.2),
        # an empty bucket before the rank: its count equals the one below
        (0.5, [(0.1, 0.0), (0.2, 2.0), (INF, 2.0)], 0.15),
        (0.5, [(0.1, 0.0), (INF, 0.0)], None),
        (0.5, [], None),
    ],
)
def test_histogram_quantile_is_prometheus_s(
    q: float, buckets: list[tuple[float, float]], expected: float | None
) -> None:
    found = histogram_quantile(q, buckets)
    assert found == (None if expected is None else pytest.approx(expected))


def _exposition() -> str:
    registry = CollectorRegistry()
    requests = Counter(REQUESTS.name, "h", ["route", "status"], registry=registry)
    duration = Histogram(
        REQUEST_DURATION.name, "h", ["route"], buckets=(0.1, 0.2), registry=registry
    )
    rows = Histogram(BATCH_ROWS.name, "h", registry=registry)
    score = Gauge(ONLINE_DRIFT_SCORE.name, "h", ["feature", "method"], registry=registry)
    detected = Gauge(ONLINE_DRIFT_DETECTED.name, "h", ["feature"], registry=registry)
    requests.labels("/invocations", "200").inc(7)
    requests.labels("/invocations", "400").inc(2)
    requests.labels("/ping", "200").inc(5)
    for seconds in (0.05, 0.05, 0.05, 0.05, 0.15, 0.15, 0.15, 0.15, 0.5, 0.5):
        duration.labels("/invocations").observe(seconds)
    duration.labels("/ping").observe(9.0)
    for size in (3, 5):
        rows.observe(size)
    score.labels("mean_radius", "ks").set(0.001)
    score.labels("mean_texture", "psi").set(0.02)
    detected.labels("mean_radius").set(1)
    detected.labels("mean_texture").set(0)
    return generate_latest(registry).decode()


def test_read_metrics_takes_the_catalogue_s_series() -> None:
    view = read_metrics(_exposition())
    assert view.requests_ok == 7  # 2xx on /invocations only
    assert view.latency_s["p50"] == pytest.approx(0.125)
    assert view.latency_s["p99"] == pytest.approx(0.2)
    assert (view.batches, view.batch_rows) == (2, 8)
    assert view.drift_scores == {"mean_radius": 0.001, "mean_texture": 0.02}
    assert view.drift_methods == {"mean_radius": "ks", "mean_texture": "psi"}
    assert view.drifting == ["mean_radius"]
    assert REQUESTS.name in view.names and f"{REQUEST_DURATION.name}_bucket" in view.names
    # The excerpt: exposition lines of the shown series, /invocations only.
    assert 'mlharness_http_requests_total{route="/invocations",status="200"} 7.0' in view.excerpt
    assert not any('"/ping"' in line for line in view.excerpt)
    assert 'mlharness_online_drift_detected{feature="mean_radius"} 1.0' in view.excerpt
