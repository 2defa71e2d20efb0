"""scipy's functions reached without scipy.stats are bit for bit scipy's own.

``monitoring.scipy_functions`` replaces ``scipy.stats.kstwo.sf``, ``scipy.stats.chisquare``
and ``scipy.spatial.distance.jensenshannon`` so a drift check never pays for importing
``scipy.stats``; the drift results must not change by one bit, so every comparison here is
``==`` (NaN where scipy answers NaN), not a tolerance.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chisquare, distributions

from monitoring import scipy_functions


def same(ours: float, theirs: float) -> bool:
    return (math.isnan(ours) and math.isnan(theirs)) or ours == theirs


def ks_cases() -> list[tuple[float, float]]:
    """(d, n) over every branch of scipy's kolmogn survival function and the support ends.

    scipy's ``smirnov`` branch (n d^2 in [2.2, 370)) costs about 1 s per call at n = 500,000:
    it is covered at the smaller sizes, where it is fast.
    """
    rng = np.random.default_rng(21)
    cases: list[tuple[float, float]] = []
    for n in (1.0, 2.0, 7.0, 140.0, 141.0, 5_000.0, 50_000.0, 100_000.0, 100_001.0, 500_000.0):
        points = [0.0, -0.1, 0.5 / n, 0.5 / n + 1e-12, 1.0 / n, 1.0 - 1.0 / n, 0.5, 0.7, 1.0]
        points += [1.2, math.nan, math.sqrt(0.7 / n), math.sqrt(1.9 / n), math.sqrt(400 / n)]
        if n <= 5_000:
            points += [math.sqrt(2.2 / n), math.sqrt(30 / n)]
            points += list(rng.uniform(0, 1, 6)) + list(rng.uniform(0, 5 / math.sqrt(n), 12))
        else:
            points += list(rng.uniform(0.1, 1, 6)) + list(rng.uniform(0, 1.4 / math.sqrt(n), 12))
        cases += [(float(d), n) for d in points]
    cases += [(0.01, 0.0), (0.01, 2.5), (0.01, math.nan)]  # no valid n: scipy answers NaN
    return cases


def test_kstwo_sf_equals_scipys_everywhere() -> None:
    for d, n in ks_cases():
        theirs = float(distributions.kstwo.sf(d, n))
        assert same(scipy_functions.kstwo_sf(d, n), theirs), (d, n)


def test_ksstats_loaded_from_its_file_is_scipys_code() -> None:
    from scipy.stats import _ksstats

    ours = scipy_functions.ksstats_from_file()
    assert ours is not _ksstats and ours.__file__ == _ksstats.__file__
    for d, n in ks_cases():
        if n >= 1 and n == round(n) and 0 < d < 1:
            theirs = _ksstats.kolmogn(n, d, cdf=False)
            assert same(float(ours.kolmogn(n, d, cdf=False)), float(theirs)), (d, n)
    with pytest.raises(NotImplementedError):  # the density's derivative is a stub
        ours.kolmognp(500.0, 0.05)


def count_pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(5)
    pairs = [
        (np.array([5.0, 5.0]), np.array([5.0, 5.0])),  # identical
        (np.array([3.0, 1.0, 0.0]), np.array([2.0, 1.0, 4.0])),  # an unseen category
        (np.array([1.0, 0.0]), np.array([0.0, 7.0])),
    ]
    for size in (2, 3, 8, 20, 100, 1000):
        for _ in range(8):
            ref = rng.integers(0, 10_000, size).astype(np.float64)
            ref[0] += 1
            cur = rng.integers(0, 10_000, size).astype(np.float64)
            cur[-1] += 1
            pairs.append((ref, cur))
    return pairs


def test_chi_square_equals_scipys() -> None:
    for ref, cur in count_pairs():
        if ref.sum() == 0:
            continue
        expected = ref * (cur.sum() / ref.sum())
        with np.errstate(divide="ignore", invalid="ignore"):
            theirs = chisquare(cur, expected)
        statistic, pvalue = scipy_functions.chi_square(cur, expected)
        assert same(statistic, float(theirs.statistic)) and same(pvalue, float(theirs.pvalue))


def test_chi_square_refuses_sums_that_differ_like_scipy() -> None:
    with pytest.raises(ValueError, match="relative tolerance"):
        chisquare(np.array([1.0, 2.0]), np.array([1.0, 3.0]))
    with pytest.raises(ValueError, match="relative tolerance"):
        scipy_functions.chi_square(np.array([1.0, 2.0]), np.array([1.0, 3.0]))


def test_jensen_shannon_equals_scipys() -> None:
    for ref, cur in count_pairs():
        p, q = ref / ref.sum(), cur / cur.sum()
        assert same(scipy_functions.jensen_shannon(p, q), float(jensenshannon(p, q)))


def test_no_scipy_stats_import() -> None:
    """The point of the module: a fresh interpreter computes all three without importing
    scipy.stats (nor scipy.spatial)."""
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        from monitoring import scipy_functions as f
        f.prefetch()
        f.kstwo_sf(0.001, 500000.0)
        f.chi_square(np.array([1.0, 3.0]), np.array([2.0, 2.0]))
        f.jensen_shannon(np.array([0.5, 0.5]), np.array([0.2, 0.8]))
        print(sorted(m for m in sys.modules if m.startswith(("scipy.stats", "scipy.spatial"))))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]", done.stdout
