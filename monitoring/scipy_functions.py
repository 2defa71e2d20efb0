"""The scipy functions the drift statistics use, reached without importing ``scipy.stats``.

``import scipy.stats`` costs about 1.5 s of CPU on a loaded machine (0.5 s idle): hundreds
of distributions format their docstrings at import. A drift check needs only three things
from it, so importing it was the largest single cost of a whole ``monitor drift`` process:

* the KS p-value's asymptotic distribution, ``scipy.stats.kstwo.sf``: scipy's own
  ``scipy/stats/_ksstats.py`` (pure Python on ``scipy.special``) is executed from its file
  under a private module name (its one import from ``scipy.stats``, ``_derivative``, is
  used only by the density and is answered by a stub); :func:`kstwo_sf` adds what
  ``rv_continuous.sf`` does around it (argument check, support bounds);
* Pearson's chi-square test, ``scipy.stats.chisquare``: the statistic's arithmetic as
  ``_power_divergence`` does it, its p-value from ``scipy.special.chdtrc`` as
  ``_SimpleChi2.sf`` does;
* the Jensen-Shannon distance, ``scipy.spatial.distance.jensenshannon``: its few numpy
  operations on ``scipy.special.rel_entr``.

Every value is bit for bit scipy's (tests/unit/monitoring/test_scipy_functions.py compares
them with ``==`` against scipy's functions). If scipy's files ever change shape, the
loader falls back to ``import scipy.stats``: slower, never different.

``prefetch`` starts these imports on a background thread when a command starts, so they
overlap reading the profile and counting the batch; every function joins that thread
before it imports anything (no two threads import scipy at once).
"""

from __future__ import annotations

import builtins
import contextlib
import importlib.util
import math
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CHI2_SUM_RTOL",
    "chi_square",
    "jensen_shannon",
    "ksstats_from_file",
    "kstwo_sf",
    "prefetch",
    "wait_for_prefetch",
]

# scipy's chisquare refuses observed and expected sums that differ by more than this
# (relative): ``finfo(float64).eps ** 0.5``.
CHI2_SUM_RTOL = float(np.finfo(np.float64).eps ** 0.5)

_PREFETCH: list[threading.Thread] = []
_LOCK = threading.Lock()
_KSSTATS: list[Any] = []


def prefetch() -> None:
    """Start importing what the statistics need on a background thread (once)."""
    if _PREFETCH:
        return
    thread = threading.Thread(target=_warm, name="scipy-prefetch", daemon=True)
    _PREFETCH.append(thread)
    thread.start()


def wait_for_prefetch() -> None:
    """Block until a started prefetch has finished (call before importing any of scipy)."""
    for thread in _PREFETCH:
        if thread is not threading.current_thread():
            thread.join()


def _warm() -> None:
    with contextlib.suppress(Exception):  # an import error shows where scipy is used
        _kolmogn()


def _special() -> ModuleType:
    wait_for_prefetch()
    with _LOCK:
        import scipy.special

    module: ModuleType = scipy.special
    return module


def _kolmogn() -> Any:
    """scipy's ``kolmogn`` (``scipy.stats._ksstats``), loaded once, without scipy.stats."""
    wait_for_prefetch()
    with _LOCK:
        if not _KSSTATS:
            _KSSTATS.append(_load_ksstats().kolmogn)
        return _KSSTATS[0]


def _load_ksstats() -> ModuleType:
    import scipy.special  # noqa: F401  (what _ksstats imports first)

    if "scipy.stats" not in sys.modules:
        try:
            return ksstats_from_file()
        except Exception:  # scipy changed its layout: the slow, sure way
            pass
    from scipy.stats import _ksstats  # already paid for, or the fallback

    module: ModuleType = _ksstats
    return module


def ksstats_from_file() -> ModuleType:
    """scipy's ``scipy/stats/_ksstats.py`` executed as a private module, without running
    ``scipy/stats/__init__.py`` (public for the test that compares it with scipy's)."""
    import scipy

    folder = Path(scipy.__file__ or "").parent / "stats"
    return _module_from_file(
        folder / "_ksstats.py", {"scipy.stats._finite_differences": _NO_DERIVATIVE}
    )


def _no_derivative(*_: object, **__: object) -> NoReturn:
    raise NotImplementedError("the KS density is not used by the drift statistics")


# What ``_ksstats`` imports from scipy.stats: ``_derivative``, which only its density
# (``_kolmogn_p``) calls; the survival function never does.
_NO_DERIVATIVE = ModuleType("monitoring._scipy_finite_differences")
_NO_DERIVATIVE._derivative = _no_derivative  # type: ignore[attr-defined]


def _module_from_file(path: Path, imports: dict[str, ModuleType]) -> ModuleType:
    """Execute one of scipy's files as a private module; ``imports`` answers the absolute
    imports it makes (by full name) so its package's ``__init__`` never runs."""
    name = f"monitoring._scipy_{path.stem.lstrip('_')}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    real_import = builtins.__import__

    def answer(
        wanted: str,
        globals_: Any = None,
        locals_: Any = None,
        fromlist: Any = (),
        level: int = 0,
    ) -> Any:
        if level == 0 and wanted in imports:
            return imports[wanted]
        if level == 0 and wanted.startswith("scipy.stats"):
            raise ImportError(f"{path.name} imports {wanted}")
        return real_import(wanted, globals_, locals_, fromlist, level)

    module.__dict__["__builtins__"] = {**vars(builtins), "__import__": answer}
    spec.loader.exec_module(module)
    return module


def kstwo_sf(d: float, n: float) -> float:
    """``scipy.stats.kstwo.sf(d, n)``: what ``rv_continuous.sf`` does for one scalar
    (``nan`` for a bad ``n``, 1 at or below the support's lower end ``0.5 / n``, 0 at or
    above 1), around scipy's own ``kolmogn(n, d, cdf=False)`` inside the support."""
    kolmogn = _kolmogn()
    x = np.asarray(d, dtype=np.float64)
    size = np.asarray(n)
    valid = bool((size >= 1) & (size == np.round(size)))
    if math.isnan(float(x)) or not valid:
        return math.nan
    if x <= 0.5 / size:
        return 1.0
    if not x < 1.0:
        return 0.0
    return float(kolmogn(np.atleast_1d(size), np.atleast_1d(x), cdf=False)[0])


def chi_square(observed: NDArray[np.float64], expected: NDArray[np.float64]) -> tuple[float, float]:
    """``scipy.stats.chisquare(observed, expected)`` for 1-D float64 counts: Pearson's
    statistic summed as ``_power_divergence`` sums it, the p-value ``chdtrc(k - 1, stat)``.

    Like scipy, refuses (``ValueError``) sums that differ by more than ``CHI2_SUM_RTOL``.
    """
    special = _special()
    observed = np.asarray(observed, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        observed_sum = np.sum(observed, axis=-1)
        expected_sum = np.sum(expected, axis=-1)
        relative = np.abs(observed_sum - expected_sum) / np.minimum(observed_sum, expected_sum)
    if bool(np.any(relative > CHI2_SUM_RTOL)):
        raise ValueError(
            "the sum of the observed frequencies must agree with the sum of the expected "
            f"frequencies to a relative tolerance of {CHI2_SUM_RTOL}: {relative}"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (observed - expected) ** 2 / expected
        statistic = np.sum(terms, axis=-1)
    df = np.float64(terms.shape[-1]) - 1 - np.float64(0)
    return float(statistic), float(special.chdtrc(df, statistic))


def jensen_shannon(p: NDArray[np.float64], q: NDArray[np.float64]) -> float:
    """``scipy.spatial.distance.jensenshannon(p, q)`` (natural log) for 1-D shares."""
    special = _special()
    p = np.asarray(p)
    q = np.asarray(q)
    p = p / np.sum(p, axis=0, keepdims=True)
    q = q / np.sum(q, axis=0, keepdims=True)
    m = (p + q) / 2.0
    left = special.rel_entr(p, m)
    right = special.rel_entr(q, m)
    js = np.sum(left, axis=0) + np.sum(right, axis=0)
    return float(np.sqrt(js / 2.0))
