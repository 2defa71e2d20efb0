"""Unit tests for projects/rf's own code: parameters, data split, metrics."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tests.support.param_checks import assert_rejected
from tests.support.paths import PROJECTS

sys.path.insert(0, str(PROJECTS / "rf"))

from rf_project import data, metrics, params


def test_defaults_match_mlproject() -> None:
    args = params.train_args([])
    assert (args.n_estimators, args.max_depth, args.min_samples_leaf) == (100, None, 1)
    assert (args.test_size, args.random_state) == (0.25, 42)


@pytest.mark.parametrize("text,expected", [("5", 5), ("none", None), ("None", None), ("1", 1)])
def test_max_depth_accepts_number_or_none(text: str, expected: int | None) -> None:
    assert params.train_args(["--max-depth", text]).max_depth == expected


@pytest.mark.parametrize(
    "argv,needle",
    [
        (
            ["--max-depth", "abc"],
            "parameter max_depth: 'abc' is not accepted; accepted: an integer >= 1 or 'none'",
        ),
        (["--max-depth", "0"], "parameter max_depth: 0 is out of range"),
        (
            ["--n-estimators", "0"],
            "parameter n_estimators: 0 is out of range; accepted: integers >= 1",
        ),
        (["--n-estimators", "2.5"], "parameter n_estimators: '2.5' is not an integer"),
        (
            ["--test-size", "1.5"],
            "parameter test_size: 1.5 is out of range; accepted: 0 < test_size < 1",
        ),
        (["--test-size", "x"], "parameter test_size: 'x' is not a number"),
        (["--foo", "1"], "unknown parameter foo; accepted parameters: n_estimators, max_depth"),
    ],
)
def test_bad_input_is_one_line_naming_the_parameter(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_rejected(lambda: params.train_args(argv), needle, capsys)


def test_split_is_stratified_and_seeded() -> None:
    frame = data.load_frame()
    train_a, test_a = data.split(frame, 0.25, 7)
    train_b, test_b = data.split(frame, 0.25, 7)
    _, test_c = data.split(frame, 0.25, 8)
    assert train_a.equals(train_b) and test_a.equals(test_b)
    assert not test_a.equals(test_c)
    assert len(train_a) + len(test_a) == len(frame)
    assert len(test_a) == pytest.approx(0.25 * len(frame), abs=1)
    assert test_a[data.TARGET].mean() == pytest.approx(frame[data.TARGET].mean(), abs=0.02)


def test_frame_has_clean_column_names() -> None:
    frame = data.load_frame()
    assert data.TARGET in frame.columns
    assert not any(" " in c for c in frame.columns)
    features, target = data.features_and_target(frame)
    assert features.shape[1] == 30 and set(target.unique()) == {0, 1}


def test_features_and_target_rejects_missing_target() -> None:
    with pytest.raises(ValueError, match="no 'target' column"):
        data.features_and_target(data.load_frame().drop(columns=[data.TARGET]))


def test_metrics_perfect_and_known_values() -> None:
    y = np.array([0, 0, 1, 1])
    perfect = metrics.classification_metrics(y, np.array([0.0, 0.1, 0.9, 1.0]))
    assert perfect["accuracy"] == 1.0 and perfect["f1"] == 1.0 and perfect["roc_auc"] == 1.0
    half = metrics.classification_metrics(y, np.array([0.5, 0.5, 0.5, 0.5]))
    assert half["log_loss"] == pytest.approx(np.log(2))
    assert half["roc_auc"] == 0.5
