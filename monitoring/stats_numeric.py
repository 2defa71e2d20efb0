"""Exact numerical drift statistics computed from counts on the reference's support.

The reference is kept in an exact compressed form: its sorted distinct finite values
``u`` and their cumulative counts. A current batch is reduced, chunk by chunk, to
counts on that support: how many current values equal each ``u[i]``, how many fall
strictly between ``u[i-1]`` and ``u[i]`` and the sum of their offsets from ``u[i-1]``.
Both empirical CDFs are then known at every point where the two-sample KS statistic can
reach its maximum, so KS is exact, with the very same float operations as
``scipy.stats.ks_2samp``. The Wasserstein-1 integral is exact from the same counts on
every interval where the current CDF stays on one side of the reference CDF; the few
intervals where it crosses need the actual values inside them, collected in a second
pass (``select_crossing``). Memory is O(reference support + one chunk).

The p-value uses scipy's own code path (exact for samples up to 10,000, the Smirnov
asymptotic ``kstwo`` otherwise), so it equals ``ks_2samp(..., method="auto")``; the
asymptotic one is reached without importing ``scipy.stats`` (``scipy_functions``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from monitoring import scipy_functions

__all__ = [
    "KS_EXACT_MAX_N",
    "PSI_EMPTY_SHARE",
    "SLOW_PVALUE_NOTE",
    "WASSERSTEIN_NORM_FLOOR",
    "CurrentCounts",
    "NumericStats",
    "Support",
    "compute",
    "ks_pvalue",
    "ks_pvalue_is_slow",
    "ks_statistic",
    "psi",
    "quantile_edges",
    "select_crossing",
    "wasserstein",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

# The same switch as ks_2samp(method="auto").
KS_EXACT_MAX_N = 10_000
# Floor for the Wasserstein norm, as Evidently does, so a constant reference column
# gives a finite normed distance.
WASSERSTEIN_NORM_FLOOR = 0.001
# Empty bins get this share in PSI so the log stays finite (Evidently's choice).
PSI_EMPTY_SHARE = 0.0001


# Support-long computations run in blocks of this many points: the temporaries stay small.
BLOCK = 1 << 16


def _blocks(size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of consecutive blocks covering ``range(size)``."""
    return [(a, min(a + BLOCK, size)) for a in range(0, size, BLOCK)]


def _run_pieces(pos: I64) -> list[tuple[int, int]]:
    """``(start, stop)`` of pieces of about BLOCK values of a sorted ``pos``, each cut where
    ``pos`` changes (a run of equal values stays in one piece)."""
    size = len(pos)
    cuts = np.searchsorted(pos, pos[np.arange(BLOCK, size, BLOCK)], side="left")
    bounds = [0, *sorted({int(c) for c in cuts if c > 0}), size]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def _offsets(u: F64, y: F64, pos: I64, hit: BoolArray) -> F64:
    """Offset of each (sorted) value from the lower end of its interval: ``y - u[pos-1]``,
    or its distance to u[0] below u[0], 0 on a support point (small positive numbers: no
    cancellation later). The values below u[0] are a prefix; for a value on u[0] the lower
    end read is u[-1], as ``u[pos - 1]`` reads it, and the 0 replaces it."""
    below = int(np.searchsorted(y, u[0], side="left"))
    off = np.empty_like(y)
    np.subtract(u[0], y[:below], out=off[:below])
    np.take(u, pos[below:] - 1, out=off[below:], mode="wrap")
    np.subtract(y[below:], off[below:], out=off[below:])
    off[hit] = 0.0
    return off


@dataclass(frozen=True)
class Support:
    """The reference in exact compressed form: sorted distinct values, cumulative counts."""

    values: F64
    cum: I64

    @classmethod
    def from_values(cls, finite: F64) -> Support:
        values, counts = np.unique(finite, return_counts=True)
        return cls(values.astype(np.float64), np.cumsum(counts, dtype=np.int64))

    @property
    def n(self) -> int:
        return int(self.cum[-1]) if len(self.cum) else 0

    def counts(self) -> I64:
        return np.diff(self.cum, prepend=np.int64(0))


@dataclass
class CurrentCounts:
    """Counts of the current values on a reference support, accumulated chunk by chunk.

    ``slots`` interleaves, for a support of k points, the counts strictly below u[0],
    equal to u[0], strictly between u[0] and u[1], equal to u[1], ... above u[k-1]
    (2k+1 slots), so ``bincount`` fills both kinds and one ``cumsum`` gives the current
    CDF at and just before every support point. That running sum is made in place: once
    ``cdf_points`` was read the slots hold it (``equal`` and ``between`` still give counts,
    and ``add`` turns them back into counts first).
    """

    support: Support
    keep_limit: int = 1_000_000
    slots: I64 = field(init=False)
    offset: F64 = field(init=False)
    m: int = 0
    mean: float = 0.0
    m2: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    kept: list[tuple[F64, I64]] = field(init=False)
    complete: bool = True  # every chunk is kept: crossing values need no second pass
    _cdf: tuple[I64, I64] | None = field(init=False, default=None)
    _sides: tuple[BoolArray, BoolArray, BoolArray] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        k = len(self.support.values)
        self.slots = np.zeros(2 * k + 1, np.int64)
        self.offset = np.zeros(k + 1, np.float64)
        self.kept = []

    @property
    def equal(self) -> I64:
        return self._counts()[1::2]

    @property
    def between(self) -> I64:
        return self._counts()[0::2]

    def _counts(self) -> I64:
        """The slots as counts (they hold their running sum once the CDF was read)."""
        if self._cdf is None:
            return self.slots
        return np.diff(self.slots, prepend=np.int64(0))

    def add(self, finite: F64) -> None:
        """Add one chunk of finite current values."""
        if finite.size == 0:
            return
        if self._cdf is not None:  # the slots hold the CDF: back to counts
            self.slots = self._counts()
        self._cdf = None
        self._sides = None
        y = np.sort(finite)  # sorted needles make searchsorted cache-friendly
        self._add_moments(y)
        u = self.support.values
        k = len(u)
        if k == 0:
            return
        pos = np.searchsorted(u, y, side="left")
        hit = np.take(u, pos, mode="clip") == y  # u[min(pos, k-1)] == y: on a support point
        # The counts go in by pieces of the chunk, cut where pos changes, so every slot and
        # offset sum is made in one piece from its values in chunk order (the same sums as
        # one bincount of the chunk) and no temporary is support- or chunk-long.
        for a, b in _run_pieces(pos):
            lo, hi = int(pos[a]), int(pos[b - 1])
            piece = pos[a:b] - lo
            self.offset[lo : hi + 1] += np.bincount(
                piece, weights=_offsets(u, y[a:b], pos[a:b], hit[a:b]), minlength=hi - lo + 1
            )
            piece *= 2
            piece += hit[a:b]  # slot 2*pos+hit
            target = self.slots[2 * lo : 2 * hi + 2]  # one shorter when hi == k (never hit)
            target += np.bincount(piece, minlength=2 * (hi - lo) + 2)[: len(target)]
        if self.complete and self.m <= self.keep_limit:
            pos[hit] = -1  # values on a support point are never inside an interval
            self.kept.append((y, pos))
        else:
            self.complete = False
            self.kept = []

    def crossing_values(self) -> F64 | None:
        """Values inside crossing intervals from the kept chunks, or None if some were dropped."""
        if not self.complete:
            return None
        mask = self.crossing()
        parts = [y[mask[pos] & (pos >= 0)] for y, pos in self.kept]
        return np.concatenate(parts) if parts else np.empty(0, np.float64)

    def _add_moments(self, y: F64) -> None:
        # Chan et al.'s parallel update: exact enough whatever the chunking.
        n_b = int(y.size)
        mean_b = float(np.mean(y))
        m2_b = float(np.var(y)) * n_b
        total = self.m + n_b
        delta = mean_b - self.mean
        self.mean += delta * n_b / total
        self.m2 += m2_b + delta * delta * self.m * n_b / total
        self.m = total
        self.minimum = min(self.minimum, float(y[0]))
        self.maximum = max(self.maximum, float(y[-1]))

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.m) if self.m else math.nan

    def cdf_points(self) -> tuple[I64, I64]:
        """Current counts ``< u[i]`` and ``<= u[i]`` for every support point (cached)."""
        if self._cdf is None:  # the running sum is made in the slots (no copy)
            cum = np.cumsum(self.slots, out=self.slots)
            self._cdf = (cum[0:-1:2], cum[1::2])
        return self._cdf

    def sides(self) -> tuple[BoolArray, BoolArray, BoolArray]:
        """For each inner interval ``(u[j-1], u[j])``, j = 1..k-1: is the current CDF
        below-or-equal, above-or-equal, or crossing the (constant) reference CDF there.

        Compared in integers (both CDFs scaled by n*m) so the three masks partition the
        intervals whatever the float rounding.
        """
        if self._sides is None:
            lt, le = self.cdf_points()
            n, m = self.support.n, self.m
            cum = self.support.cum
            size = max(len(cum) - 1, 0)
            below = np.empty(size, np.bool_)
            above = np.empty(size, np.bool_)
            for a, b in _blocks(size):  # blocks: no support-long temporaries
                ref_level = cum[a:b] * m
                np.less_equal(lt[a + 1 : b + 1] * n, ref_level, out=below[a:b])
                np.greater_equal(le[a:b] * n, ref_level, out=above[a:b])
            above &= ~below
            self._sides = (below, above, ~(below | above))
        return self._sides

    def crossing(self) -> BoolArray:
        """Mask over interval ids 0..k: intervals where the current CDF crosses the reference."""
        k = len(self.support.values)
        mask = np.zeros(k + 1, np.bool_)
        if k < 2 or self.m == 0:
            return mask
        mask[1:k] = self.sides()[2]
        return mask


def select_crossing(support: Support, mask: BoolArray, finite: F64) -> F64:
    """The values of one chunk that fall inside the crossing intervals (second pass)."""
    if not mask.any() or finite.size == 0:
        return np.empty(0, np.float64)
    y = np.sort(finite)  # sorted needles: searchsorted is several times faster
    pos = np.searchsorted(support.values, y, side="left")
    keep = mask[pos]
    inside = y[keep]
    # Values equal to a support point are not inside an open interval.
    on_point = support.values[np.minimum(pos[keep], len(support.values) - 1)] == inside
    selected: F64 = inside[~on_point]
    return selected


@dataclass(frozen=True)
class NumericStats:
    """Every numerical statistic for one column (``None`` when a side has no finite value)."""

    n_reference: int
    n_current: int
    ks_statistic: float | None
    ks_pvalue: float | None
    wasserstein: float | None
    wasserstein_normed: float | None
    psi: float | None
    current_mean: float | None
    current_std: float | None
    mean_shift: float | None  # (current mean - reference mean) / reference std
    std_ratio: float | None  # current std / reference std
    ks_pvalue_note: str | None = None  # why the p-value was not computed


# scipy's asymptotic KS p-value calls ``scipy.special.smirnov(n, d)``, which is O(n) and
# takes ~0.5 s for n = 500,000, when the effective n exceeds 140 and n*d^2 is in
# [2.2, 370): the p-value is then below ~0.025 and far above 0 is not possible. When KS
# is not the column's deciding test, that p-value is skipped (reported as null with this
# note) unless asked for; every other case is computed.
SLOW_PVALUE_NOTE = (
    "skipped: not the deciding test and slow for this sample size (p < 0.03); "
    "use --ks-pvalues to compute it"
)


def ks_pvalue_is_slow(d: float, n1: int, n2: int) -> bool:
    """True when ks_2samp's p-value would go through scipy's O(n) smirnov branch."""
    if max(n1, n2) <= KS_EXACT_MAX_N or not 0 < d < 0.5:
        return False
    big, small = sorted([float(n1), float(n2)], reverse=True)
    en = float(np.round(big * small / (big + small)))
    t = en * d
    return en > 140 and 1.0 < t < en - 1 and 2.2 <= t * d < 370.0


def ks_pvalue(d: float, n1: int, n2: int) -> tuple[float, float]:
    """``ks_2samp``'s (statistic, two-sided p-value) for a statistic ``d`` and sizes.

    Uses scipy's own exact routine for small samples and ``kstwo`` otherwise, exactly as
    ``ks_2samp(method="auto")`` does; the exact routine rounds ``d`` to the lattice.
    """
    mode = "exact" if max(n1, n2) <= KS_EXACT_MAX_N else "asymp"
    prob = -math.inf
    if mode == "exact":
        scipy_functions.wait_for_prefetch()
        from scipy.stats import _stats_py  # small samples only: imports weigh least there

        g = math.gcd(n1, n2)
        success, d, prob = _stats_py._attempt_exact_2kssamp(n1, n2, g, d, "two-sided")
        if not success:
            mode = "asymp"
    if mode == "asymp":
        big, small = sorted([float(n1), float(n2)], reverse=True)
        en = big * small / (big + small)
        prob = scipy_functions.kstwo_sf(d, np.round(en))  # = scipy.stats.kstwo.sf
    return float(d), float(np.clip(prob, 0, 1))


def ks_statistic(counts: CurrentCounts) -> float:
    """Largest distance between the two empirical CDFs (the KS statistic)."""
    support = counts.support
    n, m = support.n, counts.m
    lt, le = counts.cdf_points()
    cum = support.cum
    low, high = math.inf, -math.inf
    for a, b in _blocks(len(cum)):  # blocks: min and max are exact whatever the blocking
        diffs_at = cum[a:b] / n - le[a:b] / m
        before = cum[a - 1 : b - 1] if a else np.concatenate(([0], cum[: b - 1]))
        diffs_before = before / n - lt[a:b] / m
        low = min(low, float(diffs_at.min()), float(diffs_before.min()))
        high = max(high, float(diffs_at.max()), float(diffs_before.max()))
    return max(float(np.clip(-low, 0, 1)), high)


def wasserstein(counts: CurrentCounts, crossing_values: F64) -> float:
    """Exact Wasserstein-1 distance between the reference and the current values."""
    support = counts.support
    u = support.values
    k = len(u)
    n, m = support.n, counts.m
    total = (counts.offset[0] + counts.offset[k]) / m  # outside the reference range
    if k < 2:
        return float(total)
    lt, le = counts.cdf_points()
    below, above, crossing = counts.sides()
    cum = support.cum
    # The per-interval parts are computed in blocks (the same float operations per element)
    # into the arrays of the selected intervals, then each summed whole as before.
    below_parts = np.empty(int(np.count_nonzero(below)), np.float64)
    above_parts = np.empty(int(np.count_nonzero(above)), np.float64)
    nb = na = 0
    for a, b in _blocks(k - 1):  # interval j + 1, j = a..b-1: (u[j], u[j+1])
        lengths = u[a + 1 : b + 1] - u[a:b]
        ref_level = cum[a:b] / n
        off = counts.offset[a + 1 : b + 1]
        block_below = below[a:b]
        block_above = above[a:b]
        # int(F_cur) over (u[j-1], u[j]) = f_end*L - off/m.
        part = lengths * (ref_level - lt[a + 1 : b + 1] / m) + off / m
        chosen = part[block_below]
        below_parts[nb : nb + chosen.size] = chosen
        nb += chosen.size
        inside = lt[a + 1 : b + 1] - le[a:b]  # current values inside (u[j], u[j+1])
        part = lengths * (le[a:b] / m - ref_level) + (inside * lengths - off) / m
        chosen = part[block_above]
        above_parts[na : na + chosen.size] = chosen
        na += chosen.size
    total += float(np.sum(below_parts)) + float(np.sum(above_parts))
    if crossing.any():
        total += _crossing_integral(counts, crossing_values, le)
    return float(total)


def _crossing_integral(counts: CurrentCounts, values: F64, le: I64) -> float:
    """Exact integral of |F_ref - F_cur| over the crossing intervals, from their values.

    The reference CDF on interval j, (u[j-1], u[j]), is ``cum[j-1] / n`` (j >= 1 here).
    """
    u = counts.support.values
    cum, n = counts.support.cum, counts.support.n
    m = counts.m
    y = np.sort(values)
    interval = np.searchsorted(u, y, side="left")  # interval j: (u[j-1], u[j])
    crossing = counts.crossing()
    idx = np.flatnonzero(crossing)
    # Part before the first value of each interval, or the whole interval if it is empty.
    first_value = np.full(len(u) + 1, np.nan)
    if y.size:
        starts = np.flatnonzero(np.r_[True, interval[1:] != interval[:-1]])
        first_value[interval[starts]] = y[starts]
    lo = u[idx - 1]
    first = np.where(np.isnan(first_value[idx]), u[idx], first_value[idx])
    level = cum[idx - 1] / n
    total = float(np.sum(np.abs(level - le[idx - 1] / m) * (first - lo)))
    if y.size == 0:
        return total
    # Segment after each value: up to the next value in its interval, or to u[j].
    same_next = np.r_[interval[1:] == interval[:-1], False]
    nxt = np.where(same_next, np.r_[y[1:], 0.0], u[np.minimum(interval, len(u) - 1)])
    starts = np.flatnonzero(np.r_[True, interval[1:] != interval[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, y.size]))
    rank = np.arange(y.size) - group_start + 1
    f_after = (le[interval - 1] + rank) / m
    total += float(np.sum(np.abs(cum[interval - 1] / n - f_after) * (nxt - y)))
    return total


def psi(support: Support, counts: CurrentCounts, edges_index: I64) -> float:
    """Population stability index on reference quantile bins (edges are support indices)."""
    n, m = support.n, counts.m
    _, le = counts.cdf_points()
    ref_cum = np.concatenate(([0], support.cum[edges_index], [n]))
    cur_cum = np.concatenate(([0], le[edges_index], [m]))
    ref_share = np.maximum(np.diff(ref_cum) / n, PSI_EMPTY_SHARE)
    cur_share = np.maximum(np.diff(cur_cum) / m, PSI_EMPTY_SHARE)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def quantile_edges(support: Support, bins: int) -> I64:
    """Support indices of the reference's inner quantiles (``inverted_cdf``), deduplicated."""
    if support.n == 0:
        return np.empty(0, np.int64)
    ranks = np.ceil(np.arange(1, bins) / bins * support.n).astype(np.int64)
    index = np.searchsorted(support.cum, np.maximum(ranks, 1), side="left")
    return np.unique(np.minimum(index, len(support.values) - 1)).astype(np.int64)


def compute(
    counts: CurrentCounts,
    crossing_values: F64,
    *,
    reference_mean: float,
    reference_std: float,
    psi_bins: int = 10,
    need_pvalue: bool = True,
) -> NumericStats:
    """All numerical statistics from the accumulated counts.

    ``need_pvalue=False`` lets the KS p-value be skipped where it is slow to compute
    (see ``ks_pvalue_is_slow``); otherwise it is always computed.
    """
    support = counts.support
    n, m = support.n, counts.m
    if n == 0 or m == 0:
        return NumericStats(n, m, None, None, None, None, None, None, None, None, None)
    d_raw = ks_statistic(counts)
    note = None
    p: float | None
    if not need_pvalue and ks_pvalue_is_slow(d_raw, n, m):
        d, p, note = d_raw, None, SLOW_PVALUE_NOTE
    else:
        d, p = ks_pvalue(d_raw, n, m)
    w = wasserstein(counts, crossing_values)
    norm = max(reference_std, WASSERSTEIN_NORM_FLOOR)
    scale = reference_std if reference_std > 0 else WASSERSTEIN_NORM_FLOOR
    return NumericStats(
        n_reference=n,
        n_current=m,
        ks_statistic=d,
        ks_pvalue=p,
        wasserstein=w,
        wasserstein_normed=w / norm,
        psi=psi(support, counts, quantile_edges(support, psi_bins)),
        current_mean=counts.mean,
        current_std=counts.std,
        mean_shift=(counts.mean - reference_mean) / scale,
        std_ratio=counts.std / scale,
        ks_pvalue_note=note,
    )
