"""Every metric mlharness exports, named once.

The scoring server defines its collectors from this catalogue, the drift check pushes the
batch gauges named here, and the monitoring stack's alerts, recording rules and dashboards
are rendered against it; ``mlharness monitor render --check`` refuses an expression that
names a metric nobody in the stack exports. Prometheus naming: base units, ``_total`` for
counters, no colons (those are for recording rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "BATCH_DRIFT_METRICS",
    "SERVER_METRICS",
    "MetricSpec",
    "exported_series",
]

Kind = Literal["counter", "gauge", "histogram", "summary"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its name as declared to prometheus_client, kind, labels and help."""

    name: str
    kind: Kind
    labels: tuple[str, ...]
    help: str

    def series(self) -> tuple[str, ...]:
        """The series names Prometheus stores for it (``_total``, ``_bucket`` ...)."""
        if self.kind == "counter":
            base = self.name.removesuffix("_total")
            return (f"{base}_total", f"{base}_created")
        if self.kind == "histogram":
            return tuple(f"{self.name}{s}" for s in ("_bucket", "_sum", "_count", "_created"))
        if self.kind == "summary":
            return tuple(f"{self.name}{s}" for s in ("_sum", "_count", "_created"))
        return (self.name,)


# -- the scoring server (mlharness serve), on /metrics ----------------------------------------
REQUESTS = MetricSpec(
    "mlharness_http_requests_total",
    "counter",
    ("route", "status"),
    "HTTP requests answered, by route and status code.",
)
REQUEST_DURATION = MetricSpec(
    "mlharness_http_request_duration_seconds",
    "histogram",
    ("route",),
    "Time from receiving a request to sending its answer.",
)
IN_FLIGHT = MetricSpec(
    "mlharness_http_requests_in_flight", "gauge", (), "Requests being handled right now."
)
BATCH_ROWS = MetricSpec(
    "mlharness_batch_rows", "histogram", (), "Rows in each predict call (after batching)."
)
QUEUE_ROWS = MetricSpec("mlharness_queue_rows", "gauge", (), "Rows waiting for a predict call.")
QUEUE_CAPACITY = MetricSpec(
    "mlharness_queue_capacity_rows",
    "gauge",
    (),
    "Rows the queue holds before new requests get 503 (--max-queue-rows).",
)
PREDICTIONS = MetricSpec("mlharness_predictions_total", "counter", (), "Rows predicted.")
PREDICTION_VALUE = MetricSpec(
    "mlharness_prediction_value",
    "histogram",
    (),
    "Predicted values (regression models).",
)
PREDICTED_CLASS = MetricSpec(
    "mlharness_predicted_class_total",
    "counter",
    ("class",),
    "Predicted rows per class (classifiers).",
)
MODEL_INFO = MetricSpec(
    "mlharness_model_info",
    "gauge",
    ("name", "version", "alias", "run_id"),
    "1 for the model version being served.",
)
MODEL_CREATED = MetricSpec(
    "mlharness_model_created_timestamp_seconds",
    "gauge",
    ("name",),
    "Unix time the served version was registered (ModelStale: the champion got old).",
)
RELOADS = MetricSpec(
    "mlharness_model_reloads_total", "counter", (), "Switches to a new model version."
)
RELOAD_FAILURES = MetricSpec(
    "mlharness_model_reload_failures_total",
    "counter",
    (),
    "New versions that failed to load or warm up (the old one kept serving).",
)
FEATURE_VALUE = MetricSpec(
    "mlharness_input_feature_value",
    "summary",
    ("feature",),
    "Values of each numerical input feature (sum and count: the mean over any window).",
)
ONLINE_DRIFT_SCORE = MetricSpec(
    "mlharness_online_drift_score",
    "gauge",
    ("feature", "method"),
    "Drift statistic of each feature over the rolling window against the reference profile.",
)
ONLINE_DRIFT_DETECTED = MetricSpec(
    "mlharness_online_drift_detected",
    "gauge",
    ("feature",),
    "1 when the feature drifted over the rolling window, else 0 (exported from the start).",
)
SERVER_METRICS: tuple[MetricSpec, ...] = (
    REQUESTS,
    REQUEST_DURATION,
    IN_FLIGHT,
    BATCH_ROWS,
    QUEUE_ROWS,
    QUEUE_CAPACITY,
    PREDICTIONS,
    PREDICTION_VALUE,
    PREDICTED_CLASS,
    MODEL_INFO,
    MODEL_CREATED,
    RELOADS,
    RELOAD_FAILURES,
    FEATURE_VALUE,
    ONLINE_DRIFT_SCORE,
    ONLINE_DRIFT_DETECTED,
)

# -- the batch drift check (mlharness monitor drift), pushed to the Pushgateway ---------------
BATCH_DRIFT_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "mlharness_drift_score",
        "gauge",
        ("dataset", "column", "role", "method"),
        "Value of the column's deciding drift statistic (p-value or distance).",
    ),
    MetricSpec(
        "mlharness_drift_detected",
        "gauge",
        ("dataset", "column", "role", "method"),
        "1 when the column drifted, else 0.",
    ),
    MetricSpec(
        "mlharness_drift_nonfinite_share",
        "gauge",
        ("dataset", "column"),
        "Share of missing or infinite values in the current batch.",
    ),
    MetricSpec(
        "mlharness_dataset_drift",
        "gauge",
        ("dataset",),
        "1 when the share of drifting features reached the threshold.",
    ),
    MetricSpec(
        "mlharness_dataset_drift_share", "gauge", ("dataset",), "Share of features that drifted."
    ),
    MetricSpec(
        "mlharness_concept_drift",
        "gauge",
        ("dataset",),
        "1 when a concept-drift detector fired on the (prediction, label) stream.",
    ),
    MetricSpec("mlharness_drift_current_rows", "gauge", ("dataset",), "Rows in the batch."),
    MetricSpec(
        "mlharness_drift_last_run_timestamp_seconds",
        "gauge",
        ("dataset",),
        "Unix time of the last drift run.",
    ),
    MetricSpec(
        "mlharness_drift_last_success_timestamp_seconds",
        "gauge",
        (),
        "Unix time the drift check last completed (drifted or not).",
    ),
)


def exported_series() -> frozenset[str]:
    """Every series name mlharness itself exports (server and batch drift check)."""
    return frozenset(s for m in (*SERVER_METRICS, *BATCH_DRIFT_METRICS) for s in m.series())
