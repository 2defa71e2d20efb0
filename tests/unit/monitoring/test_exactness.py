"""Every statistic equals scipy's to 1e-9 on random and adversarial data (hypothesis).

Ours runs through the real engine (profile built from an Arrow table, current batch
streamed in small chunks) so the non-finite policy, chunking and the exact compressed
reference are all exercised; scipy gets the finite values directly.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.stats import chisquare, ks_2samp, wasserstein_distance

from monitoring import stats_numeric
from monitoring.chunks import TableSource
from monitoring.drift import run_drift
from monitoring.policy import make_policy
from monitoring.profile import build_profile

TOL = 1e-9
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

special = st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, 1e-300])
plain = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
tied = st.integers(-3, 3).map(float)
values = st.lists(st.one_of(plain, tied, tied, special), min_size=0, max_size=60)


def close(ours: float | None, theirs: float) -> bool:
    assert ours is not None
    if math.isinf(theirs):
        return ours == theirs
    return math.isclose(ours, theirs, rel_tol=TOL, abs_tol=TOL)


def numeric_result(ref: list[float], cur: list[float], batch_rows: int):  # type: ignore[no-untyped-def]
    reference = pa.table({"x": pa.array(ref, pa.float64())})
    current = pa.table({"x": pa.array(cur, pa.float64())})
    profile = build_profile(TableSource(reference, batch_rows), name="ref", numerical=["x"])
    result = run_drift(profile, TableSource(current, batch_rows), make_policy([]), all_pvalues=True)
    (column,) = result.columns
    return column


@SETTINGS
@given(ref=values, cur=values, batch_rows=st.integers(1, 25))
@example(ref=[1.0] * 5, cur=[1.0] * 3, batch_rows=2)  # constant, identical
@example(ref=[2.0] * 5, cur=[1.0, 3.0], batch_rows=1)  # constant reference
@example(ref=[0.5], cur=[0.25], batch_rows=1)  # one row each
@example(ref=[1.0, 2.0, 3.0], cur=[], batch_rows=1)  # empty batch
@example(ref=[math.nan, math.inf], cur=[1.0, 2.0], batch_rows=1)  # no finite reference
@example(ref=[0.0, 1.0, 1.0, 2.0], cur=[0.5, 0.5, 1.0, 1.5, 9.0], batch_rows=2)  # ties
def test_numerical_statistics_equal_scipy(
    ref: list[float], cur: list[float], batch_rows: int
) -> None:
    column = numeric_result(ref, cur, batch_rows)
    a = np.array([v for v in ref if math.isfinite(v)])
    b = np.array([v for v in cur if math.isfinite(v)])
    assert column.nonfinite_current["missing"] == sum(math.isnan(v) for v in cur)
    assert column.nonfinite_current["pos_inf"] == sum(v == math.inf for v in cur)
    assert column.nonfinite_reference["neg_inf"] == sum(v == -math.inf for v in ref)
    stats = column.numeric
    assert stats is not None
    if a.size == 0 or b.size == 0:
        assert column.status == "empty" and column.score is None and not column.drift
        assert column.reason and "no finite values" in column.reason
        assert stats.ks_statistic is None and stats.wasserstein is None
        return
    ks = ks_2samp(a, b)
    assert close(stats.ks_statistic, float(ks.statistic))
    assert close(stats.ks_pvalue, float(ks.pvalue))
    assert close(stats.wasserstein, float(wasserstein_distance(a, b)))
    assert close(stats.wasserstein_normed, float(wasserstein_distance(a, b)) / max(a.std(), 1e-3))
    assert close(stats.current_mean, float(np.mean(b)))
    assert close(stats.current_std, float(np.std(b)))
    assert close(stats.psi, reference_psi(a, b))
    assert column.score is not None and math.isfinite(column.score)


def reference_psi(a: np.ndarray, b: np.ndarray, bins: int = 10) -> float:
    """PSI written plainly: inverted-CDF reference deciles, right-closed bins, 1e-4 floor."""
    edges = np.unique(np.quantile(a, np.arange(1, bins) / bins, method="inverted_cdf"))
    sa, sb = np.sort(a), np.sort(b)
    ca = np.diff(np.r_[0, np.searchsorted(sa, edges, side="right"), a.size]) / a.size
    cb = np.diff(np.r_[0, np.searchsorted(sb, edges, side="right"), b.size]) / b.size
    ca, cb = np.maximum(ca, 1e-4), np.maximum(cb, 1e-4)
    return float(np.sum((cb - ca) * np.log(cb / ca)))


@SETTINGS
@given(
    ref=st.lists(st.one_of(plain, tied), min_size=1, max_size=50),
    cur=st.lists(st.one_of(plain, tied), min_size=1, max_size=50),
    chunk=st.integers(1, 10),
)
def test_second_pass_is_exact_when_chunks_are_not_kept(
    ref: list[float], cur: list[float], chunk: int
) -> None:
    """Larger-than-memory path: nothing kept, crossing values gathered in a second pass."""
    support = stats_numeric.Support.from_values(np.array(ref))
    counts = stats_numeric.CurrentCounts(support, keep_limit=0)
    chunks = [np.array(cur[i : i + chunk]) for i in range(0, len(cur), chunk)]
    for part in chunks:
        counts.add(part)
    assert counts.crossing_values() is None
    mask = counts.crossing()
    crossing = np.concatenate([stats_numeric.select_crossing(support, mask, c) for c in chunks])
    w = stats_numeric.wasserstein(counts, crossing)
    assert close(w, float(wasserstein_distance(ref, cur)))
    assert close(stats_numeric.ks_statistic(counts), float(ks_2samp(ref, cur).statistic))


categories = st.sampled_from(["a", "b", "c", "d"])
unseen = st.sampled_from(["x", "y"])


@SETTINGS
@given(
    ref=st.lists(st.one_of(categories, st.none()), min_size=0, max_size=60),
    cur=st.lists(st.one_of(categories, unseen, st.none()), min_size=0, max_size=60),
)
@example(ref=["a", "b", "a"], cur=["x", "y", "x"])  # only unseen categories
@example(ref=["a", "a"], cur=["a"])  # a single category
@example(ref=["a", "b"], cur=[])  # empty batch
@example(ref=[None, None], cur=["a"])  # nothing but nulls in the reference
def test_categorical_statistics_equal_scipy(ref: list[str | None], cur: list[str | None]) -> None:
    reference = pa.table({"c": pa.array(ref, pa.string())})
    current = pa.table({"c": pa.array(cur, pa.string())})
    profile = build_profile(TableSource(reference, 7), name="ref")
    (column,) = run_drift(profile, TableSource(current, 5), make_policy([])).columns
    stats = column.categorical
    assert stats is not None
    assert column.nonfinite_current["missing"] == cur.count(None)
    rc = Counter(v for v in ref if v is not None)
    cc = Counter(v for v in cur if v is not None)
    if not rc or not cc:
        assert column.status == "empty" and column.score is None
        return
    cats = list(rc) + [c for c in cc if c not in rc]
    f_ref = np.array([rc[c] for c in cats], float)
    f_cur = np.array([cc[c] for c in cats], float)
    assert stats.unseen_categories == len([c for c in cc if c not in rc])
    assert close(stats.unseen_share, sum(cc[c] for c in cc if c not in rc) / sum(cc.values()))
    if len(cats) == 1:
        assert stats.chi2_statistic == 0.0 and stats.chi2_pvalue == 1.0
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = chisquare(f_cur, f_ref * f_cur.sum() / f_ref.sum())
        assert close(stats.chi2_statistic, float(expected.statistic))
        assert close(stats.chi2_pvalue, float(expected.pvalue))
    js = float(jensenshannon(f_ref / f_ref.sum(), f_cur / f_cur.sum()))
    assert close(stats.js_distance, 0.0 if math.isnan(js) else js)
    for shift in stats.shifts:
        assert close(shift.current_share, cc[shift.category] / sum(cc.values()))


def test_mixed_dtypes_each_get_a_kind_and_finite_scores() -> None:
    rng = np.random.default_rng(3)
    n = 300

    def table(seed: int) -> pa.Table:
        r = np.random.default_rng(seed)
        return pa.table(
            {
                "f32": pa.array(r.normal(size=n).astype(np.float32)),
                "i64_many": pa.array(r.integers(0, 1000, n)),
                "i8_few": pa.array(r.integers(0, 4, n).astype(np.int8)),
                "flag": pa.array(r.random(n) < 0.3),
                "dict": pa.array(r.choice(["u", "v"], n)).dictionary_encode(),
                "when": pa.array(np.arange(n).astype("datetime64[s]")),
            }
        )

    del rng
    profile = build_profile(TableSource(table(1)), name="ref")
    kinds = {name: c.kind for name, c in profile.columns.items()}
    assert kinds == {
        "f32": "numerical",
        "i64_many": "numerical",
        "i8_few": "categorical",
        "flag": "categorical",
        "dict": "categorical",
    }
    result = run_drift(profile, TableSource(table(2)), make_policy([]))
    assert all(c.score is not None and math.isfinite(c.score) for c in result.columns)
    assert not result.dataset_drift


@pytest.mark.parametrize("n", [10_001, 40_000])
def test_asymptotic_pvalue_branch_equals_scipy(n: int) -> None:
    rng = np.random.default_rng(n)
    a, b = rng.normal(size=n), rng.normal(0.02, 1, size=n + 7)
    support = stats_numeric.Support.from_values(a)
    counts = stats_numeric.CurrentCounts(support)
    counts.add(b)
    d, p = stats_numeric.ks_pvalue(stats_numeric.ks_statistic(counts), a.size, b.size)
    expected = ks_2samp(a, b)
    assert close(d, float(expected.statistic)) and close(p, float(expected.pvalue))
