"""Prometheus gauges for drift results, defined from the metric catalogue.

The names, help texts and labels come from :data:`monitoring.metric_names.BATCH_DRIFT_METRICS`
(said once, there), so what the drift check exports is what the monitoring stack's alerts
and dashboards are rendered against. One ``DriftMetrics`` per drift run: ``update`` with the
result, ``mark_success`` when the check completed, then ``write_textfile`` (node exporter's
textfile collector) and/or ``push`` (a Pushgateway, for the drift DAG's batch job).
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.error import URLError

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, write_to_textfile

from harness.kernel.errors import ExternalServiceError
from monitoring.drift import DriftResult
from monitoring.metric_names import BATCH_DRIFT_METRICS

__all__ = ["PUSH_ATTEMPTS", "PUSH_JOB", "PUSH_TIMEOUT_S", "DriftMetrics"]

# The Pushgateway job of the drift check; the grouping key adds ``dataset``.
PUSH_JOB = "mlharness_drift"
PUSH_TIMEOUT_S = 5.0
PUSH_ATTEMPTS = 3


class DriftMetrics:
    """Every batch drift gauge of the catalogue, in its own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.gauges: dict[str, Gauge] = {
            spec.name: Gauge(spec.name, spec.help, spec.labels, registry=self.registry)
            for spec in BATCH_DRIFT_METRICS
        }

    def _gauge(self, name: str) -> Gauge:
        return self.gauges[name]

    def update(self, result: DriftResult, dataset: str) -> None:
        """Set every gauge from one result (a column without a score keeps no sample)."""
        score = self._gauge("mlharness_drift_score")
        detected = self._gauge("mlharness_drift_detected")
        nonfinite = self._gauge("mlharness_drift_nonfinite_share")
        for column in result.columns:
            labels = (dataset, column.name, column.role, column.method)
            if column.score is not None:
                score.labels(*labels).set(column.score)
            detected.labels(*labels).set(int(column.drift))
            nonfinite.labels(dataset, column.name).set(column.nonfinite_share_current)
        self._gauge("mlharness_dataset_drift").labels(dataset).set(int(result.dataset_drift))
        self._gauge("mlharness_dataset_drift_share").labels(dataset).set(result.drift_share)
        if result.concept is not None:
            self._gauge("mlharness_concept_drift").labels(dataset).set(int(result.concept.drift))
        self._gauge("mlharness_drift_current_rows").labels(dataset).set(result.n_current)
        self._gauge("mlharness_drift_last_run_timestamp_seconds").labels(dataset).set(
            result.created_at
        )

    def mark_success(self, when: float | None = None) -> None:
        """The check completed (drifted or not): DriftCheckStale alerts when this gets old."""
        self._gauge("mlharness_drift_last_success_timestamp_seconds").set(
            time.time() if when is None else when
        )

    def write_textfile(self, path: str | Path) -> None:
        """Write the registry in the text format (atomic, for node exporter's textfile)."""
        write_to_textfile(str(path), self.registry)

    def push(self, gateway: str, dataset: str, *, job: str = PUSH_JOB) -> None:
        """Replace this data set's group on the Pushgateway with these gauges.

        The grouping key is the data set, so each batch keeps its own last-success time.
        A gateway that cannot be reached (or refuses the push) after ``PUSH_ATTEMPTS`` is
        an :class:`ExternalServiceError` (exit 5).
        """
        problem = ""
        for attempt in range(PUSH_ATTEMPTS):
            try:
                push_to_gateway(
                    gateway,
                    job=job,
                    registry=self.registry,
                    grouping_key={"dataset": dataset},
                    timeout=PUSH_TIMEOUT_S,
                )
                return
            except (URLError, OSError, ValueError) as exc:
                problem = " ".join(str(getattr(exc, "reason", exc)).split())
                if attempt + 1 < PUSH_ATTEMPTS:
                    time.sleep(0.2 * 2**attempt)
        raise ExternalServiceError(
            f"cannot push the drift gauges to the Pushgateway {gateway}: {problem} "
            f"(after {PUSH_ATTEMPTS} attempts)"
        )
