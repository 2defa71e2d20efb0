"""Each concept-drift detector flags an injected change within its documented delay and
stays quiet on stationary streams (several seeds)."""

from __future__ import annotations

import numpy as np
import pytest

from monitoring.concept import ddm, page_hinkley, windowed

CHANGE = 2000
SEEDS = range(8)


def errors(seed: int, rows: int, change: int | None, before: float = 0.1, after: float = 0.4):
    rng = np.random.default_rng(seed)
    rate = np.full(rows, before)
    if change is not None:
        rate[change:] = after
    return (rng.random(rows) < rate).astype(np.float64)


@pytest.mark.parametrize("seed", SEEDS)
def test_ddm_flags_a_jump_within_its_documented_delay(seed: int) -> None:
    found = ddm(errors(seed, 6000, CHANGE)).drift_index
    assert found is not None and CHANGE <= found <= CHANGE + 510


@pytest.mark.parametrize("seed", SEEDS)
def test_ddm_is_quiet_on_a_stationary_stream(seed: int) -> None:
    assert ddm(errors(seed, 20_000, None)).drift_index is None


@pytest.mark.parametrize("seed", SEEDS)
def test_page_hinkley_flags_a_jump_within_its_documented_delay(seed: int) -> None:
    found = page_hinkley(errors(seed, 6000, CHANGE)).drift_index
    assert found is not None and CHANGE <= found <= CHANGE + 300


@pytest.mark.parametrize("seed", SEEDS)
def test_page_hinkley_is_quiet_on_a_stationary_stream(seed: int) -> None:
    assert page_hinkley(errors(seed, 20_000, None)).drift_index is None


def test_page_hinkley_works_on_absolute_errors_for_regression() -> None:
    rng = np.random.default_rng(0)
    signal = np.abs(rng.normal(0, 1, 6000))
    assert page_hinkley(signal).drift_index is None
    signal[CHANGE:] *= 2.0
    found = page_hinkley(signal).drift_index
    assert found is not None and CHANGE <= found <= CHANGE + 300


def test_windowed_performance_flags_only_windows_after_the_change() -> None:
    signal = errors(1, 6000, 3000, before=0.1, after=0.3)
    rows, flagged = windowed(signal, "classification", reference=0.9, window=1000)
    assert [r["flagged"] for r in rows] == [False, False, False, True, True, True]
    assert flagged == 3
    rows, flagged = windowed(np.full(2500, 1.0), "regression", reference=1.0, window=1000)
    assert flagged == 0 and len(rows) == 3  # last half window (500 rows) counts


def test_short_streams_never_fire() -> None:
    assert ddm(np.ones(10)).drift_index is None
    assert page_hinkley(np.ones(10)).drift_index is None
