{%- set classification = cookiecutter.task == "classification" -%}
"""The data set (shipped with scikit-learn, so no download) and its seeded split."""

from __future__ import annotations

import pandas as pd
{%- if classification %}
from sklearn.datasets import load_breast_cancer
{%- else %}
from sklearn.datasets import load_diabetes
{%- endif %}
from sklearn.model_selection import train_test_split

{% if classification -%}
DATASET = "breast_cancer"
{%- else -%}
DATASET = "diabetes"
{%- endif %}
TARGET = "target"


def load_frame() -> pd.DataFrame:
{%- if classification %}
    """Breast-cancer data as one frame: 30 float features and a 0/1 ``target``."""
    bunch = load_breast_cancer(as_frame=True)
{%- else %}
    """Diabetes data as one frame: 10 float features and a float ``target``."""
    bunch = load_diabetes(as_frame=True)
{%- endif %}
    frame: pd.DataFrame = bunch.frame.copy()
    # Column names with spaces are legal but awkward in signatures and CSV files.
    frame.columns = [str(c).replace(" ", "_") for c in frame.columns]
{%- if classification %}
    frame[TARGET] = frame[TARGET].astype("int64")
{%- else %}
    frame[TARGET] = frame[TARGET].astype("float64")
{%- endif %}
    return frame


def split(
    frame: pd.DataFrame, test_size: float, random_state: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train/test split; the same seed always gives the same rows."""
    train, test = train_test_split(
        frame,
        test_size=test_size,
        random_state=random_state,
{%- if classification %}
        stratify=frame[TARGET],
{%- endif %}
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def features_and_target(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Split a frame into its feature columns and the target column."""
    if TARGET not in frame.columns:
        raise ValueError(f"data has no {TARGET!r} column; columns: {list(frame.columns)}")
    return frame.drop(columns=[TARGET]), frame[TARGET]
