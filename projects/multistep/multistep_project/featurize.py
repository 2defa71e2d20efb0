"""Step ``featurize``: standardize and keep the ``select_k`` best features, fit on train only."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from multistep_project import tables

INPUTS = ("data_uri",)
SOURCE_FILES: dict[str, Path] = {}


def fit_transform(
    train: pd.DataFrame, y_train: pd.Series, test: pd.DataFrame, select_k: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scaled, selected train and test features; statistics come from the train rows alone."""
    pipeline = make_pipeline(StandardScaler(), SelectKBest(f_classif, k=select_k))
    pipeline.set_output(transform="pandas")
    return pipeline.fit_transform(train, y_train), pipeline.transform(test)


def execute(params: dict[str, Any], inputs: dict[str, Path]) -> None:
    """Log ``features/train.csv`` and ``features/test.csv`` and the names kept."""
    uri = params["data_uri"]
    x_train, y_train = tables.read_logged(inputs["data_uri"], tables.TRAIN, "training", uri)
    x_test, y_test = tables.read_logged(inputs["data_uri"], tables.TEST, "testing", uri)
    f_train, f_test = fit_transform(x_train, y_train, x_test, params["select_k"])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "features"
        tables.write(out, tables.TRAIN, f_train, y_train)
        tables.write(out, tables.TEST, f_test, y_test)
        mlflow.log_artifacts(str(out), "features")
    mlflow.log_dict({"selected": list(f_train.columns)}, "featurizer/selected.json")
    mlflow.log_metric("n_features", f_train.shape[1])
