"""Longest work first, one module per worker: how ``make test`` spreads the suite over xdist.

A handful of tests cost minutes (the live stack, the demo, the stress sweeps) and most cost
seconds. xdist's default order is the collection's, so a long test collected last runs alone
at the end while the other worker idles, and the tests of one module land on both workers,
each of which then builds the module's costly fixtures. Here:

- a test module is one unit of work (its module- and session-scoped fixtures are built once),
  except a module longer than an eighth of the whole recorded suite (and than
  ``SPLIT_FLOOR_S``), whose tests go one by one (spread over both workers, since it would
  otherwise bound the whole run; such a module should not hold a costly module fixture);
- units go out longest first (the greedy "longest processing time" rule, within 4/3 of the
  best possible schedule), their length read from ``tests/durations.json``, the per-test
  times of an earlier run (a new test counts ``UNKNOWN_S``).

``python -m tests.support.scheduling JUNIT_XML`` rewrites ``tests/durations.json`` from a
run's ``--junitxml`` (``make test PYTEST_ARGS=--junitxml=...``). Stale figures only cost
balance, never correctness.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

__all__ = [
    "DURATIONS",
    "LongestFirstScheduling",
    "durations",
    "order_items",
    "scope_of",
    "write_durations",
]

TESTS = Path(__file__).resolve().parents[1]
DURATIONS = TESTS / "durations.json"
SPLIT_FLOOR_S = 300.0
SPLIT_FRACTION = 8  # a module longer than 1/8 of the suite is split
UNKNOWN_S = 2.0


@cache
def durations() -> Mapping[str, float]:
    """Recorded seconds per test node id (setup, call and teardown)."""
    try:
        data = json.loads(DURATIONS.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


@cache
def _module_totals() -> Mapping[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for nodeid, seconds in durations().items():
        totals[_module(nodeid)] += seconds
    return totals


def scope_of(nodeid: str) -> str:
    """The unit of work ``nodeid`` belongs to: its module, or itself in a module too long
    to run on one worker."""
    module = _module(nodeid)
    totals = _module_totals()
    split_above = max(SPLIT_FLOOR_S, sum(totals.values()) / SPLIT_FRACTION)
    return nodeid if totals.get(module, 0.0) > split_above else module


def order_items(items: list[pytest.Item]) -> None:
    """Sort ``items`` in place: units longest first, a unit's tests together and in their
    collected order (the same sort on every worker, so their collections stay equal)."""
    recorded = durations()
    totals: dict[str, float] = defaultdict(float)
    for item in items:
        totals[scope_of(item.nodeid)] += recorded.get(item.nodeid, UNKNOWN_S)
    first_seen = {}
    for index, item in enumerate(items):
        first_seen.setdefault(scope_of(item.nodeid), index)
    items.sort(key=lambda item: (-totals[scope_of(item.nodeid)], first_seen[scope_of(item.nodeid)]))


class LongestFirstScheduling(LoadScopeScheduling):
    """xdist's scope scheduling with the units of :func:`scope_of`, handed out in the
    collected order (which :func:`order_items` made longest first) instead of by test count."""

    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        super().__init__(config, log)
        config.option.loadscopereorder = False

    def _split_scope(self, nodeid: str) -> str:
        return scope_of(nodeid)


def _nodeid(case: ElementTree.Element) -> str | None:
    """The node id of a junit ``testcase`` (``classname`` is the dotted module, then any
    test classes)."""
    parts = (case.get("classname") or "").split(".")
    for cut in range(len(parts), 0, -1):
        path = Path(*parts[:cut]).with_suffix(".py")
        if (TESTS.parent / path).is_file():
            return "::".join([path.as_posix(), *parts[cut:], case.get("name") or ""])
    return None


def write_durations(junit_files: Sequence[Path]) -> int:
    """Rewrite ``tests/durations.json`` from junit reports; returns how many tests it holds."""
    times: dict[str, float] = {}
    for junit in junit_files:
        for case in ElementTree.parse(junit).iter("testcase"):
            nodeid = _nodeid(case)
            if nodeid is not None:
                times[nodeid] = round(float(case.get("time") or 0.0), 2)
    DURATIONS.write_text(json.dumps(dict(sorted(times.items())), indent=0) + "\n")
    return len(times)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python -m tests.support.scheduling JUNIT_XML...")
    print(f"{write_durations([Path(a) for a in sys.argv[1:]])} tests -> {DURATIONS}")
