"""Prometheus gauges for drift results, in a registry the serving code can export.

One ``DriftMetrics`` per process: ``update`` after every drift run, then expose
``registry`` (``prometheus_client.generate_latest(registry)``) or write it to a node
exporter textfile with ``write_textfile``.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from monitoring.engine import DriftResult


class DriftMetrics:
    """Gauges per feature and per data set, plus the last-run timestamp."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        per_column = ["dataset", "column", "role", "method"]
        self.score = self._gauge(
            "mlharness_drift_score",
            "Value of the column's deciding drift statistic (p-value or distance).",
            per_column,
        )
        self.column_drift = self._gauge(
            "mlharness_drift_detected", "1 when the column drifted, else 0.", per_column
        )
        self.nonfinite = self._gauge(
            "mlharness_drift_nonfinite_share",
            "Share of missing or infinite values in the current batch.",
            ["dataset", "column"],
        )
        self.dataset_drift = self._gauge(
            "mlharness_dataset_drift",
            "1 when the share of drifting features reached the threshold.",
        )
        self.share = self._gauge(
            "mlharness_dataset_drift_share", "Share of feature columns that drifted."
        )
        self.concept = self._gauge(
            "mlharness_concept_drift",
            "1 when a concept-drift detector fired on the (prediction, label) stream.",
        )
        self.rows = self._gauge("mlharness_drift_current_rows", "Rows in the current batch.")
        self.last_run = self._gauge(
            "mlharness_drift_last_run_timestamp_seconds", "Unix time of the last drift run."
        )

    def _gauge(self, name: str, documentation: str, labels: list[str] | None = None) -> Gauge:
        """A gauge in this registry, labelled per data set unless ``labels`` says otherwise."""
        return Gauge(name, documentation, labels or ["dataset"], registry=self.registry)

    def update(self, result: DriftResult, dataset: str) -> None:
        """Set every gauge from one result (a column without a score keeps no sample)."""
        for column in result.columns:
            labels = (dataset, column.name, column.role, column.method)
            if column.score is not None:
                self.score.labels(*labels).set(column.score)
            self.column_drift.labels(*labels).set(int(column.drift))
            self.nonfinite.labels(dataset, column.name).set(column.nonfinite_share_current)
        self.dataset_drift.labels(dataset).set(int(result.dataset_drift))
        self.share.labels(dataset).set(result.drift_share)
        if result.concept is not None:
            self.concept.labels(dataset).set(int(result.concept.drift))
        self.rows.labels(dataset).set(result.n_current)
        self.last_run.labels(dataset).set(result.created_at)

    def write_textfile(self, path: str | Path) -> None:
        """Write the registry in the text format (atomic, for node exporter's textfile)."""
        write_to_textfile(str(path), self.registry)
