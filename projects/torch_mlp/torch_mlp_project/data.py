"""The data set (shipped with scikit-learn, so no download) and its seeded three-way split."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

TARGET = "target"
TEST_FRACTION = 0.2  # held out for the final metrics
VAL_FRACTION = 0.2  # of the rest, scored after every epoch


class Splits(NamedTuple):
    """Train rows fit the weights, validation rows are scored per epoch, test rows at the end."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame


def load_frame() -> pd.DataFrame:
    """30 float32 feature columns (no spaces in the names) and an int64 ``target``."""
    frame: pd.DataFrame = load_breast_cancer(as_frame=True).frame
    frame.columns = [str(c).replace(" ", "_") for c in frame.columns]
    features = frame.drop(columns=[TARGET]).astype("float32")
    return features.assign(**{TARGET: frame[TARGET].astype("int64")})


def split(frame: pd.DataFrame, seed: int) -> Splits:
    """Stratified train/val/test split; the same seed always gives the same rows."""
    rest, test = train_test_split(
        frame, test_size=TEST_FRACTION, random_state=seed, stratify=frame[TARGET]
    )
    train, val = train_test_split(
        rest, test_size=VAL_FRACTION, random_state=seed, stratify=rest[TARGET]
    )
    return Splits(*(part.reset_index(drop=True) for part in (train, val, test)))


def xy(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Feature columns and the target as a 0/1 array; a frame without ``target`` is an error."""
    if TARGET not in frame.columns:
        raise ValueError(f"data has no {TARGET!r} column; columns: {list(frame.columns)}")
    return frame.drop(columns=[TARGET]).astype("float32"), frame[TARGET].to_numpy()
