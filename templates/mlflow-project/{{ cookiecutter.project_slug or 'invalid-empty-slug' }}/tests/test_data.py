"""The data set loads without a download and splits the same way for the same seed."""

from __future__ import annotations

import pandas as pd
import pytest

from {{ cookiecutter.project_slug }} import data


def test_frame_has_features_and_a_target() -> None:
    frame = data.load_frame()
    assert data.TARGET in frame.columns
    assert len(frame) > 100
    assert not frame.isna().any().any()
    assert all(" " not in column for column in frame.columns)


def test_split_is_seeded() -> None:
    frame = data.load_frame()
    first_train, first_test = data.split(frame, 0.25, 1)
    again_train, again_test = data.split(frame, 0.25, 1)
    pd.testing.assert_frame_equal(first_train, again_train)
    pd.testing.assert_frame_equal(first_test, again_test)
    other_train, _ = data.split(frame, 0.25, 2)
    assert not first_train.equals(other_train)
    assert len(first_test) == pytest.approx(0.25 * len(frame), abs=1)


def test_a_frame_without_target_is_refused() -> None:
    with pytest.raises(ValueError, match="no 'target' column"):
        data.features_and_target(pd.DataFrame({"x": [1.0]}))
