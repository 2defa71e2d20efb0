"""Verify's comparison of two manifests, and its tolerance option."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from harness.kernel.assignments import AssignmentError
from harness.kernel.errors import ParamError
from harness.run.comparison import DIFFERS, SAME, WITHIN, compare, identical, parse_rtols
from harness.schemas.manifest import RunManifest
from tests.support.manifests import manifest_json, run_manifest


def _doc() -> dict[str, Any]:
    doc = manifest_json()
    doc["source"]["tree_digest"] = "t"
    doc["run_spec"]["parameters"] = {"n": "5"}
    doc["metrics"] = {"acc": 0.9, "loss": 0.3}
    doc["outputs"] = {"plot.png": "d1"}
    doc["inputs"] = {"data": {"value": "/x", "digest": "i1"}}
    doc["environment"].update(python="3.11.7", platform="p", lock_digest="l")
    return doc


def _original() -> RunManifest:
    return run_manifest(_doc())


def test_identical_manifests_compare_same() -> None:
    rows = compare(_original(), _original())
    assert identical(rows) and {row.status for row in rows} == {SAME}


def test_each_kind_of_difference_is_found() -> None:
    other = copy.deepcopy(_doc())
    other["metrics"]["acc"] = 0.91
    other["outputs"]["plot.png"] = "d2"
    other["environment"]["lock_digest"] = "l2"
    other["inputs"]["data"]["digest"] = "i2"
    differing = {
        (r.section, r.name)
        for r in compare(_original(), run_manifest(other))
        if r.status == DIFFERS
    }
    assert differing == {
        ("metrics", "acc"),
        ("outputs", "plot.png"),
        ("environment", "lock_digest"),
        ("inputs", "data"),
    }


def test_metric_tolerance_is_relative_and_per_metric() -> None:
    other = copy.deepcopy(_doc())
    other["metrics"]["acc"] = 0.9 * (1 + 1e-7)
    replay = run_manifest(other)
    assert not identical(compare(_original(), replay))
    rows = compare(_original(), replay, {"acc": 1e-6})
    assert identical(rows)
    assert [r.status for r in rows if r.name == "acc"] == [WITHIN]
    assert not identical(compare(_original(), replay, {"acc": 1e-8}))


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
        compare(_original(), _original(), {"nope": 0.1})
