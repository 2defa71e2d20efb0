"""Verify's comparison of two manifests, and its tolerance option."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from harness.kernel.assignments import AssignmentError
from harness.kernel.errors import ParamError
from harness.run.comparison import DIFFERS, SAME, WITHIN, compare, identical, parse_rtols


def _doc() -> dict[str, Any]:
    return {
        "source": {"commit": "a" * 40, "tree_digest": "t"},
        "run_spec": {"entry_point": "main", "parameters": {"n": "5"}},
        "metrics": {"acc": 0.9, "loss": 0.3},
        "outputs": {"plot.png": "d1"},
        "inputs": {"data": {"value": "/x", "digest": "i1"}},
        "environment": {"python": "3.11.7", "platform": "p", "lock_digest": "l"},
    }


def test_identical_manifests_compare_same() -> None:
    rows = compare(_doc(), _doc())
    assert identical(rows) and {row.status for row in rows} == {SAME}


def test_each_kind_of_difference_is_found() -> None:
    other = copy.deepcopy(_doc())
    other["metrics"]["acc"] = 0.91
    other["outputs"]["plot.png"] = "d2"
    other["environment"]["lock_digest"] = "l2"
    other["inputs"]["data"]["digest"] = "i2"
    differing = {(r.section, r.name) for r in compare(_doc(), other) if r.status == DIFFERS}
    assert differing == {
        ("metrics", "acc"),
        ("outputs", "plot.png"),
        ("environment", "lock_digest"),
        ("inputs", "data"),
    }


def test_metric_tolerance_is_relative_and_per_metric() -> None:
    other = copy.deepcopy(_doc())
    other["metrics"]["acc"] = 0.9 * (1 + 1e-7)
    assert not identical(compare(_doc(), other))
    rows = compare(_doc(), other, {"acc": 1e-6})
    assert identical(rows)
    assert [r.status for r in rows if r.name == "acc"] == [WITHIN]
    assert not identical(compare(_doc(), other, {"acc": 1e-8}))


def test_rtol_parsing_and_unknown_metric() -> None:
    assert parse_rtols(["acc=1e-3", "loss=0"]) == {"acc": 1e-3, "loss": 0.0}
    with pytest.raises(AssignmentError) as caught:
        parse_rtols(["acc", "x=abc", "y=-1", "z=inf"])
    assert caught.value.problems == [
        "--rtol 'acc' is not KEY=VALUE",
        "--rtol 'x=abc': value 'abc' is not a number >= 0",
        "--rtol 'y=-1': value '-1' is not a number >= 0",
        "--rtol 'z=inf': value 'inf' is not a number >= 0",
    ]
    with pytest.raises(ParamError, match="unknown metric 'nope'"):
        compare(_doc(), _doc(), {"nope": 0.1})
