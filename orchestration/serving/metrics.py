"""The scoring server's Prometheus metrics, defined from ``monitoring.metric_names``.

Every collector is built from its ``MetricSpec`` (name, kind, labels, help), so the names
the monitoring stack's alerts are rendered against are exactly the names exported here.

With ``--workers N`` each worker is its own process: prometheus_client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, set by the operation before the workers start) keeps the
values in shared files and ``/metrics`` sums counters and histograms over all workers.
Gauges say how they combine: in-flight requests and queue rows add up, ``model_info`` and
drift flags take the maximum over live workers, drift scores the most recent value.

What the hot path pays (issue 21: the metrics may cost at most 5% of throughput): in a single
process the in-flight and queue gauges read plain integers when scraped (``set_function``)
instead of taking a lock per change, and the per-feature sums and counts of each batch are
added to two numpy arrays and handed to the summaries when ``/metrics`` is rendered (or
every ``FEATURE_FLUSH_ROWS`` rows), not 60 locked increments per batch. Likewise each
answered request is only appended to a list; the requests counter and the duration
histogram take them in bulk at scrape time (or every ``REQUEST_FLUSH`` requests): one
increment per (route, status) and per bucket hit instead of three locked increments per
request. A scrape therefore reads exactly what it read before. In multiprocess mode the
values live in shared files, so they are written as they happen.
"""

from __future__ import annotations

import bisect
import collections
import contextlib
import math
import os
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Summary,
    generate_latest,
)

from harness.schemas.slo import LATENCY_BUCKETS_S
from monitoring import metric_names as names
from monitoring.metric_names import MetricSpec
from orchestration.serving.parsing import ByColumnsIndex

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from orchestration.serving.model_slot import LoadedModel, ModelVersionInfo

__all__ = ["CONTENT_TYPE", "KNOWN_ROUTES", "ServerMetrics", "multiprocess_dir"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
KNOWN_ROUTES = frozenset({"/invocations", "/ping", "/health", "/version", "/metrics"})
BATCH_ROWS_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384)
# One definition with the config check of slo.latency.threshold_s (a bound of these).
DURATION_BUCKETS = LATENCY_BUCKETS_S
VALUE_BUCKETS = (
    -1000.0,
    -100.0,
    -10.0,
    -1.0,
    -0.1,
    0.0,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    10.0,
    100.0,
    1000.0,
)
# Single process: pending feature sums are handed to the summaries after this many rows
# (and whenever /metrics is rendered).
FEATURE_FLUSH_ROWS = 4096
# Single process: answered requests are handed to their counter and histogram after this
# many (and whenever /metrics is rendered).
REQUEST_FLUSH = 1024
# At most this many class labels; more classes are counted as "other" (label cardinality).
MAX_CLASSES = 50

GaugeMode = Literal["livesum", "livemax", "livemostrecent"]
_GAUGE_MODES: dict[str, GaugeMode] = {
    names.IN_FLIGHT.name: "livesum",
    names.QUEUE_ROWS.name: "livesum",
    names.QUEUE_CAPACITY.name: "livesum",
    names.MODEL_INFO.name: "livemax",
    names.MODEL_CREATED.name: "livemax",
    names.ONLINE_DRIFT_SCORE.name: "livemostrecent",
    names.ONLINE_DRIFT_DETECTED.name: "livemax",
}


def multiprocess_dir() -> str | None:
    """The shared directory of multiprocess mode, if the operation set one."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class ServerMetrics:
    """Every server metric, and the updates the app, the batcher and the reloader make."""

    def __init__(self) -> None:
        self.multiprocess = multiprocess_dir() is not None
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = self._counter(names.REQUESTS)
        self.duration = self._histogram(names.REQUEST_DURATION, DURATION_BUCKETS)
        self.in_flight = self._gauge(names.IN_FLIGHT)
        self.batch_rows = self._histogram(names.BATCH_ROWS, BATCH_ROWS_BUCKETS)
        self.queue = self._gauge(names.QUEUE_ROWS)
        self.capacity = self._gauge(names.QUEUE_CAPACITY)
        self.predictions = self._counter(names.PREDICTIONS)
        self.prediction_value = self._histogram(names.PREDICTION_VALUE, VALUE_BUCKETS)
        self.predicted_class = self._counter(names.PREDICTED_CLASS)
        self.model_info = self._gauge(names.MODEL_INFO)
        self.model_created = self._gauge(names.MODEL_CREATED)
        self.reloads = self._counter(names.RELOADS)
        self.reload_failures = self._counter(names.RELOAD_FAILURES)
        self.feature_value = self._summary(names.FEATURE_VALUE)
        self.drift_score = self._gauge(names.ONLINE_DRIFT_SCORE)
        self.drift_detected = self._gauge(names.ONLINE_DRIFT_DETECTED)
        self._features: dict[str, Summary] = {}
        self._classes: set[str] = set()
        self._info_labels: tuple[str, ...] | None = None
        self._drift_labels: list[tuple[str, str]] = []
        self._request_children: dict[tuple[str, int], Counter] = {}
        # Single process: the in-flight and queue gauges read these when scraped.
        self._in_flight = 0
        self._queued_rows = 0
        if not self.multiprocess:
            self.in_flight.set_function(lambda: self._in_flight)
            self.queue.set_function(lambda: self._queued_rows)
        # Feature sums and counts not yet handed to the summaries (single process).
        self._pending_lock = threading.Lock()
        self._pending_children: list[Summary] = []
        self._pending_sums: np.ndarray[Any, Any] | None = None
        self._pending_counts: np.ndarray[Any, Any] | None = None
        self._pending_rows = 0
        self._class_children: dict[str, Counter] = {}
        # column names of a batch -> (features present, frame is exactly them, children)
        self._feature_plans: dict[tuple[str, ...], tuple[list[str], bool, list[Summary]]] = {}
        self._duration_children: dict[str, Histogram] = {}
        # Single process: (route, status, seconds) of answered requests not yet counted.
        self._done_lock = threading.Lock()
        self._done: list[tuple[str, int, float]] = []
        # The plan of the last batch's columns Index (the fast parse reuses one Index).
        self._plan_for: ByColumnsIndex[tuple[list[str], bool, list[Summary]]] = ByColumnsIndex(
            self._plan_of
        )

    # -- construction from the catalogue ------------------------------------------------
    def _counter(self, spec: MetricSpec) -> Counter:
        assert spec.kind == "counter"
        return Counter(spec.name, spec.help, spec.labels, registry=self.registry)

    def _gauge(self, spec: MetricSpec) -> Gauge:
        assert spec.kind == "gauge"
        mode = _GAUGE_MODES.get(spec.name, "livesum")
        return Gauge(
            spec.name, spec.help, spec.labels, registry=self.registry, multiprocess_mode=mode
        )

    def _histogram(self, spec: MetricSpec, buckets: Iterable[float]) -> Histogram:
        assert spec.kind == "histogram"
        return Histogram(
            spec.name, spec.help, spec.labels, registry=self.registry, buckets=tuple(buckets)
        )

    def _summary(self, spec: MetricSpec) -> Summary:
        assert spec.kind == "summary"
        return Summary(spec.name, spec.help, spec.labels, registry=self.registry)

    # -- exposition ----------------------------------------------------------------------
    def render(self) -> bytes:
        """The text exposition of ``/metrics`` (all workers in multiprocess mode)."""
        if not self.multiprocess:
            self.flush()
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    def worker_exited(self) -> None:
        """Drop this worker's live gauges (multiprocess mode)."""
        if self.multiprocess:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    # -- updates ---------------------------------------------------------------------------
    def request_done(self, route: str, status: int, seconds: float) -> None:
        """One answered request (``route`` is the path if known, else ``other``).

        In a single process the request is only noted here; its counter and histogram are
        updated in bulk when /metrics is rendered (or every ``REQUEST_FLUSH`` requests).
        """
        if self.multiprocess:  # values in shared files: written as they happen
            self.in_flight.dec()
            route = route if route in KNOWN_ROUTES else "other"
            self._request_child(route, status).inc()
            self._duration_child(route).observe(seconds)
            return
        self._in_flight -= 1
        with self._done_lock:
            done = self._done
            done.append((route, status, seconds))
            full = len(done) >= REQUEST_FLUSH
        if full:
            self._flush_requests()

    def _flush_requests(self) -> None:
        with self._done_lock:
            done, self._done = self._done, []
        if done:
            self._count_requests(done)

    def _count_requests(self, done: list[tuple[str, int, float]]) -> None:
        """Add answered requests to the requests counter and the duration histogram."""
        counts: collections.Counter[tuple[str, int]] = collections.Counter()
        durations: dict[str, list[float]] = {}
        for route, status, seconds in done:
            route = route if route in KNOWN_ROUTES else "other"
            counts[(route, status)] += 1
            durations.setdefault(route, []).append(seconds)
        for (route, status), count in counts.items():
            self._request_child(route, status).inc(count)
        for route, values in durations.items():
            _observe_all(self._duration_child(route), values)

    def _request_child(self, route: str, status: int) -> Counter:
        child = self._request_children.get((route, status))
        if child is None:
            child = self._request_children[(route, status)] = self.requests.labels(
                route, str(status)
            )
        return child

    def _duration_child(self, route: str) -> Histogram:
        histogram = self._duration_children.get(route)
        if histogram is None:
            histogram = self._duration_children[route] = self.duration.labels(route)
        return histogram

    def queue_rows(self, rows: int) -> None:
        if self.multiprocess:
            self.queue.set(rows)
        else:
            self._queued_rows = rows

    def request_started(self) -> None:
        """A request is in flight (until its ``request_done``)."""
        if self.multiprocess:
            self.in_flight.inc()
        else:
            self._in_flight += 1

    def serving(self, model: LoadedModel, capacity_rows: int) -> None:
        """A version starts being served: info, per-feature series, queue capacity."""
        self.capacity.set(capacity_rows)
        self.set_model_info(model.info)
        for feature in _numeric_features(model):
            if feature not in self._features:
                self._features[feature] = self.feature_value.labels(feature)
        self._feature_plans.clear()
        self._plan_for.forget()

    def set_model_info(self, info: ModelVersionInfo) -> None:
        labels = (info.name, info.version, info.alias or "", info.run_id)
        if self._info_labels is not None and self._info_labels != labels:
            self._retire(self.model_info, self._info_labels)
        self.model_info.labels(*labels).set(1)
        self._info_labels = labels
        if info.created_s > 0:  # unknown (0) would read as a model from 1970
            self.model_created.labels(info.name).set(info.created_s)

    def set_drift_series(self, series: list[tuple[str, str]]) -> None:
        """The (feature, method) pairs of the drift gauges: old ones retired, new ones 0."""
        for feature, method in self._drift_labels:
            if (feature, method) not in series:
                self._retire(self.drift_score, (feature, method))
        kept = {f for f, _ in series}
        for feature, _ in self._drift_labels:
            if feature not in kept:
                self._retire(self.drift_detected, (feature,))
        for feature, method in series:
            self.drift_score.labels(feature, method).set(0)
            self.drift_detected.labels(feature).set(0)
        self._drift_labels = list(series)

    def set_drift(self, feature: str, method: str, score: float, drifted: bool) -> None:
        self.drift_score.labels(feature, method).set(score)
        self.drift_detected.labels(feature).set(int(drifted))

    def _retire(self, gauge: Gauge, labels: tuple[str, ...]) -> None:
        """Single process: remove the series; multiprocess: its file value cannot be
        removed, so it reads 0."""
        if self.multiprocess:
            gauge.labels(*labels).set(0)
        else:
            with contextlib.suppress(KeyError):
                gauge.remove(*labels)

    def predicted(self, model: LoadedModel, data: object, predictions: object, rows: int) -> None:
        """One predict call of ``rows`` rows (called on the predict thread)."""
        import numpy as np
        import pandas as pd

        self.batch_rows.observe(rows)
        self.predictions.inc(rows)
        if isinstance(data, pd.DataFrame) and self._features:
            self._observe_features(data)
        values = predictions
        if isinstance(values, pd.DataFrame) and values.shape[1] == 1:
            values = values.iloc[:, 0]
        array = np.asarray(values) if isinstance(values, pd.Series | np.ndarray | list) else None
        if array is None or array.ndim != 1 or array.size == 0:
            return
        if array.dtype.kind == "f":
            _observe_all(self.prediction_value, array[np.isfinite(array)].tolist())
            return
        if array.dtype.kind in "iub":
            # Integer or bool classes: count the Python values (a batch is small; np.unique
            # sorts, and a cast to str costs more than the counting). str() of the Python
            # value is the label ``astype(str)`` gives.
            counted = collections.Counter(array.tolist()).items()
            pairs = [(str(cls), count) for cls, count in counted]
        else:
            classes, counts = np.unique(array.astype(str), return_counts=True)
            pairs = [(str(cls), int(count)) for cls, count in zip(classes, counts, strict=True)]
        for label, count in pairs:
            if label not in self._classes and len(self._classes) >= MAX_CLASSES:
                label = "other"
            self._classes.add(label)
            child = self._class_children.get(label)
            if child is None:
                child = self._class_children[label] = self.predicted_class.labels(label)
            child.inc(count)

    def _plan_of(self, columns: pd.Index) -> tuple[list[str], bool, list[Summary]]:
        """The features a batch with these columns holds, whether it holds exactly them, and
        their series; kept by column names."""
        names = tuple(columns.tolist())
        found = self._feature_plans.get(names)
        if found is None:
            known = set(names)
            present = [f for f in self._features if f in known]
            # Selecting columns of a frame cast column by column (one block per column)
            # costs milliseconds; a frame of exactly the features needs no selection.
            found = (present, list(names) == present, [self._features[f] for f in present])
            if len(self._feature_plans) >= 64:
                self._feature_plans.clear()
            self._feature_plans[names] = found
        return found

    def _observe_features(self, data: pd.DataFrame) -> None:
        """Each numeric feature's sum and count over the batch, in one numpy pass."""
        import numpy as np

        present, same, children = self._plan_for(data.columns)
        try:
            values = (
                data.to_numpy(np.float64)
                if same
                else np.column_stack([data[f].to_numpy(np.float64) for f in present])
            )
        except (TypeError, ValueError):
            return
        sums = values.sum(axis=0)
        if np.isfinite(sums).all():  # every value finite: each column counts every row
            counts = np.full(len(sums), len(values), dtype=np.int64)
        else:
            finite = np.isfinite(values)
            sums = np.where(finite, values, 0.0).sum(axis=0)
            counts = finite.sum(axis=0)
        if self.multiprocess:
            _add_to_summaries(children, sums, counts)
            return
        flush = False
        with self._pending_lock:
            if self._pending_children is not children:  # another frame layout: hand over
                self._flush_locked()
                self._pending_children = children
                self._pending_sums = sums
                self._pending_counts = counts
            else:
                assert self._pending_sums is not None and self._pending_counts is not None
                self._pending_sums += sums
                self._pending_counts += counts
            self._pending_rows += len(values)
            flush = self._pending_rows >= FEATURE_FLUSH_ROWS
        if flush:
            self.flush()

    def flush(self) -> None:
        """Hand the pending requests and feature sums and counts to their collectors."""
        self._flush_requests()
        with self._pending_lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if self._pending_sums is not None and self._pending_counts is not None:
            _add_to_summaries(self._pending_children, self._pending_sums, self._pending_counts)
        self._pending_children = []
        self._pending_sums = self._pending_counts = None
        self._pending_rows = 0

    def reloaded(self, info: ModelVersionInfo) -> None:
        self.reloads.inc()
        self.set_model_info(info)

    def reload_failed(self) -> None:
        self.reload_failures.inc()


def _numeric_features(model: LoadedModel) -> list[str]:
    schema = model.input_schema
    if schema is None or not schema.has_input_names():
        return []
    numeric = {"integer", "long", "float", "double"}
    found = []
    for spec in schema.inputs:
        kind = getattr(getattr(spec, "type", None), "name", None)
        if spec.name is not None and kind in numeric:
            found.append(str(spec.name))
    return found


def _add_to_summaries(
    children: list[Summary], sums: np.ndarray[Any, Any], counts: np.ndarray[Any, Any]
) -> None:
    for child, total, count in zip(children, sums.tolist(), counts.tolist(), strict=True):
        if count == 0:
            continue
        values = _sum_and_count(child)
        if values is not None and math.isfinite(total):
            values[0].inc(total)
            values[1].inc(count)
        else:
            _observe_many(child, total, count)


def _observe_all(histogram: Histogram, values: list[float]) -> None:
    """``histogram.observe(v)`` for each value, one locked increment per bucket hit.

    prometheus_client keeps a histogram child as a ``_sum`` value and one value per bucket
    (not cumulative: ``observe`` adds 1 to the first bucket whose bound is >= the value),
    so the bucket of each value is found with ``bisect`` and each bucket is incremented
    once by its count. Anything else (a NaN, a prometheus_client without those values)
    takes ``observe``.
    """
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
        for value in values:  # pragma: no cover - a prometheus_client without the values
            histogram.observe(value)
        return
    hits: collections.Counter[int] = collections.Counter()
    added = 0.0
    for value in values:
        if value != value:  # NaN: in no bucket, and observe adds it to the sum
            histogram.observe(value)
            continue
        hits[bisect.bisect_left(bounds, value)] += 1
        added += value
    if hits:
        total.inc(added)
        for index, count in hits.items():
            buckets[index].inc(count)


def _sum_and_count(child: Summary) -> tuple[Any, Any] | None:
    """The ``_sum`` and ``_count`` values prometheus_client keeps for a summary child."""
    sum_value = getattr(child, "_sum", None)
    count_value = getattr(child, "_count", None)
    if sum_value is None or count_value is None:
        return None  # pragma: no cover - a prometheus_client without the two values
    return sum_value, count_value


def _observe_many(child: Summary, total: float, count: int) -> None:
    """Add ``count`` observations summing to ``total`` in two increments.

    ``Summary.observe`` takes one value at a time; a batch of 64 rows by 30 features would
    cost ~2000 calls per predict. A summary is exactly a sum and a count, so both are
    incremented directly (prometheus_client keeps them as ``_sum`` and ``_count`` values in
    single and multiprocess mode); without them, it falls back to one observe per row.
    """
    if count == 0:
        return
    sum_value = getattr(child, "_sum", None)
    count_value = getattr(child, "_count", None)
    if sum_value is not None and count_value is not None and math.isfinite(total):
        count_value.inc(count)
        sum_value.inc(total)
    else:  # pragma: no cover - a prometheus_client without the two values
        for _ in range(count):
            child.observe(total / count)
