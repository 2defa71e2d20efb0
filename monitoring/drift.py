"""Compare a current batch with a reference profile: every column, both cores.

Columns are independent, so they run on a thread pool (numpy's sort, searchsorted and
bincount release the GIL). Each column streams its own values batch by batch from the
source, so memory holds one column's reference support and one batch per thread. The
exact Wasserstein integral needs a second pass over a numerical column only when the
current batch was larger than one kept chunk (``CurrentCounts.keep_limit``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from harness.kernel.errors import SourceError
from harness.schemas.validation import one_line
from monitoring import stats_categorical, stats_numeric
from monitoring.chunks import ColumnSource
from monitoring.concept import ConceptResult, detect
from monitoring.policy import Policy, Rule
from monitoring.profile import ColumnProfile, Profile, check_batch_types
from monitoring.values import (
    NONFINITE_SHIFT_FLAG,
    NonFinite,
    count_categories,
    numeric_chunk,
)

__all__ = ["CategoricalPlot", "ColumnResult", "DriftResult", "NumericPlot", "run_drift"]

# Current values kept per column for the Wasserstein crossing intervals; a larger batch
# (streamed in several chunks) gets a second pass over the column instead.
KEEP_ROWS = 1_000_000
PLOT_BINS = 30
PLOT_CATEGORIES = 20


@dataclass(frozen=True)
class NumericPlot:
    """Reference and current shares per bin; the last current bin is above the reference max."""

    edges: list[float]
    reference: list[float]
    current: list[float]


@dataclass(frozen=True)
class CategoricalPlot:
    """Reference and current shares of the top categories."""

    categories: list[str]
    reference: list[float]
    current: list[float]


@dataclass
class ColumnResult:
    """The verdict and every statistic for one column."""

    name: str
    kind: str
    role: str
    method: str
    threshold: float
    score: float | None
    drift: bool
    status: str  # "ok" | "empty"
    reason: str | None
    nonfinite_reference: dict[str, int]
    nonfinite_current: dict[str, int]
    nonfinite_share_reference: float
    nonfinite_share_current: float
    nonfinite_shift: bool
    numeric: stats_numeric.NumericStats | None = None
    categorical: stats_categorical.CategoricalStats | None = None
    plot: NumericPlot | CategoricalPlot | None = None


@dataclass
class DriftResult:
    """The whole comparison."""

    reference: str
    current: str
    n_reference: int
    n_current: int
    columns: list[ColumnResult]
    drift_share_threshold: float
    n_features: int
    n_drifted_features: int
    drift_share: float
    dataset_drift: bool
    label_drift: bool | None
    prediction_drift: bool | None
    concept: ConceptResult | None
    seconds: float
    created_at: float


def run_drift(
    profile: Profile,
    source: ColumnSource,
    policy: Policy,
    *,
    current_name: str = "current",
    threads: int = 2,
    on_column_done: Callable[[str], None] | None = None,
    all_pvalues: bool = False,
) -> DriftResult:
    """Compare ``source`` with ``profile`` under ``policy``.

    ``all_pvalues`` computes the KS p-value even where it is slow and not the deciding test.
    """
    started = time.perf_counter()
    policy.check({name: column.kind for name, column in profile.columns.items()})
    names = set(source.schema.names)
    missing = [
        name for name, c in profile.columns.items() if c.role == "feature" and name not in names
    ]
    if missing:
        raise SourceError(
            f"{current_name}: missing feature column(s) {missing}",
            hint="the current batch must have the reference's feature columns",
        )
    check_batch_types(profile, source.schema, current_name)
    todo = [c for c in profile.columns.values() if c.name in names]
    # Costly numerical columns first so the pool stays busy to the end.
    todo.sort(key=lambda c: (c.kind != "numerical", -c.n_distinct))

    def one(column: ColumnProfile) -> ColumnResult:
        result = _compare_column(profile, column, source, policy, current_name, all_pvalues)
        if on_column_done is not None:
            on_column_done(column.name)
        return result

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        results = {r.name: r for r in pool.map(one, todo)}
    columns = [results[name] for name in profile.columns if name in results]
    features = [c for c in columns if c.role == "feature"]
    drifted = sum(c.drift for c in features)
    share = drifted / len(features) if features else 0.0
    by_role = {c.role: c for c in columns if c.role != "feature"}
    concept = detect(source, profile)
    return DriftResult(
        reference=profile.source,
        current=current_name,
        n_reference=profile.n_rows,
        n_current=source.num_rows,
        columns=columns,
        drift_share_threshold=policy.drift_share,
        n_features=len(features),
        n_drifted_features=drifted,
        drift_share=share,
        dataset_drift=bool(features) and share >= policy.drift_share,
        label_drift=by_role["target"].drift if "target" in by_role else None,
        prediction_drift=by_role["prediction"].drift if "prediction" in by_role else None,
        concept=concept,
        seconds=time.perf_counter() - started,
        created_at=time.time(),
    )


def _compare_column(
    profile: Profile,
    column: ColumnProfile,
    source: ColumnSource,
    policy: Policy,
    current: str,
    all_pvalues: bool,
) -> ColumnResult:
    rule = policy.rule_for(column.name, column.kind, column.n_finite)
    try:
        if column.kind == "numerical":
            return _numerical(profile, column, source, rule, all_pvalues)
        return _categorical(column, source, rule)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise SourceError(
            f"{current}: column {column.name!r} cannot be read as {column.kind}: {one_line(exc)}"
        ) from exc


def _numerical(
    profile: Profile, column: ColumnProfile, source: ColumnSource, rule: Rule, all_pvalues: bool
) -> ColumnResult:
    support = profile.support(column.name)
    counts = stats_numeric.CurrentCounts(support, keep_limit=KEEP_ROWS)
    excluded = _count_numeric(counts, source, column.name)
    crossing = counts.crossing_values()
    if crossing is None:  # second pass, only the values inside crossing intervals
        mask = counts.crossing()
        parts = [
            stats_numeric.select_crossing(support, mask, numeric_chunk(b.column(0))[0])
            for b in source.iter_batches([column.name])
        ]
        crossing = np.concatenate(parts) if parts else np.empty(0, np.float64)
    counts.kept = []
    if profile.payload_path is not None:
        column.support = None  # re-readable from the payload: free it for the next column
    stats = stats_numeric.compute(
        counts,
        crossing,
        reference_mean=column.mean or 0.0,
        reference_std=column.std or 0.0,
        need_pvalue=all_pvalues or rule.method == "ks",
    )
    score = getattr(stats, rule.statistic)
    result = _verdict(column, rule, score, excluded, counts.m)
    result.numeric = stats
    if stats.ks_statistic is not None:
        result.plot = _numeric_plot(counts)
    return result


def _count_numeric(
    counts: stats_numeric.CurrentCounts, source: ColumnSource, name: str
) -> NonFinite:
    """Count the column's batches; the last batch is released on return, before the stats."""
    excluded = NonFinite()
    for batch in source.iter_batches([name]):
        finite, chunk_excluded = numeric_chunk(batch.column(0))
        counts.add(finite)
        excluded.add(chunk_excluded)
    return excluded


def _categorical(column: ColumnProfile, source: ColumnSource, rule: Rule) -> ColumnResult:
    counts, excluded = count_categories(b.column(0) for b in source.iter_batches([column.name]))
    stats = stats_categorical.compute(column.categories, counts)
    score = getattr(stats, rule.statistic)
    result = _verdict(column, rule, score, excluded, stats.n_current)
    result.categorical = stats
    if stats.n_reference and stats.n_current:
        top = list(column.categories)[:PLOT_CATEGORIES]
        top += [c for c, _ in counts.most_common(PLOT_CATEGORIES) if c not in column.categories]
        result.plot = CategoricalPlot(
            categories=top[: PLOT_CATEGORIES + 5],
            reference=[column.categories.get(c, 0) / stats.n_reference for c in top],
            current=[counts.get(c, 0) / stats.n_current for c in top],
        )
    return result


def _verdict(
    column: ColumnProfile, rule: Rule, score: float | None, excluded: NonFinite, n_finite: int
) -> ColumnResult:
    ref_total = column.n_finite + column.nonfinite.total
    cur_total = n_finite + excluded.total
    ref_share = column.nonfinite.total / ref_total if ref_total else 0.0
    cur_share = excluded.total / cur_total if cur_total else 0.0
    empty = score is None
    reason = None
    if empty:
        side = "reference" if column.n_finite == 0 else "current"
        reason = f"no finite values in the {side} data"
    return ColumnResult(
        name=column.name,
        kind=column.kind,
        role=column.role,
        method=rule.method,
        threshold=rule.threshold,
        score=None if score is None else float(score),
        drift=False if score is None else rule.drifted(float(score)),
        status="empty" if empty else "ok",
        reason=reason,
        nonfinite_reference=column.nonfinite.to_dict(),
        nonfinite_current=excluded.to_dict(),
        nonfinite_share_reference=ref_share,
        nonfinite_share_current=cur_share,
        nonfinite_shift=cur_total > 0 and abs(cur_share - ref_share) > NONFINITE_SHIFT_FLAG,
    )


def _numeric_plot(counts: stats_numeric.CurrentCounts) -> NumericPlot:
    """Shares per bin on edges snapped to reference values (so counts stay exact)."""
    u = counts.support.values
    cum = counts.support.cum
    n, m = counts.support.n, counts.m
    targets = np.linspace(u[0], u[-1], PLOT_BINS + 1)
    index = np.unique(np.clip(np.searchsorted(u, targets, side="right") - 1, 0, len(u) - 1))
    _, le = counts.cdf_points()
    ref_cum = np.concatenate(([0], cum[index]))
    cur_cum = np.concatenate(([0], le[index], [m]))
    return NumericPlot(
        edges=[float(v) for v in u[index]],
        reference=[float(v) for v in np.diff(ref_cum) / n],
        # The last current bin holds values above the reference maximum.
        current=[float(v) for v in np.diff(cur_cum) / m],
    )
