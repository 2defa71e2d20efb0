"""Categorical drift statistics on category counts: chi-square, Jensen-Shannon, shifts.

Counts are tiny next to the data, so the tests themselves are scipy's own
(``scipy.stats.chisquare``, ``scipy.spatial.distance.jensenshannon``, reached through
``scipy_functions`` without importing ``scipy.stats``, bit for bit the same) on the union of
reference and current categories. Expected frequencies are the reference shares scaled
to the current size; a category never seen in the reference has expected frequency 0,
so when it occurs the chi-square statistic is infinite and its p-value 0 (scipy's answer,
reported as such). With a single category on both sides the distributions are equal:
statistic 0 and p-value 1 (scipy would answer NaN for zero degrees of freedom).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from monitoring import scipy_functions

__all__ = [
    "REPORTED_CATEGORIES",
    "CategoricalStats",
    "CategoryShift",
    "chi_square",
    "compute",
    "js_distance",
]

# How many categories the report lists (largest absolute share shifts first).
REPORTED_CATEGORIES = 50


@dataclass(frozen=True)
class CategoryShift:
    category: str
    reference_share: float
    current_share: float
    shift: float
    unseen: bool


@dataclass(frozen=True)
class CategoricalStats:
    """Every categorical statistic for one column (None when a side is empty)."""

    n_reference: int
    n_current: int
    chi2_statistic: float | None
    chi2_pvalue: float | None
    js_distance: float | None
    n_categories: int
    unseen_categories: int
    unseen_share: float | None
    shifts: list[CategoryShift] = field(default_factory=list)


def compute(reference: Mapping[str, int], current: Mapping[str, int]) -> CategoricalStats:
    """Chi-square, Jensen-Shannon distance and per-category shifts."""
    n = sum(reference.values())
    m = sum(current.values())
    categories = list(reference) + [c for c in current if c not in reference]
    ref = np.array([reference.get(c, 0) for c in categories], dtype=np.float64)
    cur = np.array([current.get(c, 0) for c in categories], dtype=np.float64)
    unseen = [c for c in current if c not in reference and current[c] > 0]
    if n == 0 or m == 0:
        return CategoricalStats(n, m, None, None, None, len(categories), len(unseen), None)
    stat, p = chi_square(ref, cur)
    js = js_distance(ref, cur)
    ref_share, cur_share = ref / n, cur / m
    shifts = [
        CategoryShift(c, float(r), float(k), float(k - r), c not in reference)
        for c, r, k in zip(categories, ref_share, cur_share, strict=True)
    ]
    shifts.sort(key=lambda s: -abs(s.shift))
    return CategoricalStats(
        n_reference=n,
        n_current=m,
        chi2_statistic=stat,
        chi2_pvalue=p,
        js_distance=js,
        n_categories=len(categories),
        unseen_categories=len(unseen),
        unseen_share=float(sum(current[c] for c in unseen) / m),
        shifts=shifts[:REPORTED_CATEGORIES],
    )


def chi_square(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float]:
    """scipy's chi-square of current counts against reference shares scaled to them."""
    if len(ref_counts) < 2:
        return 0.0, 1.0
    expected = ref_counts * (cur_counts.sum() / ref_counts.sum())
    return scipy_functions.chi_square(cur_counts, expected)  # = scipy.stats.chisquare


def js_distance(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """scipy's Jensen-Shannon distance (natural log) between the two share vectors."""
    value = scipy_functions.jensen_shannon(  # = scipy.spatial.distance.jensenshannon
        ref_counts / ref_counts.sum(), cur_counts / cur_counts.sum()
    )
    # sqrt of a rounding-negative sum for identical distributions: the distance is 0.
    return 0.0 if math.isnan(value) else value
