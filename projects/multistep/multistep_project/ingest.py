"""Step ``ingest``: split scikit-learn's breast-cancer data and log it as ``data/``."""

from __future__ import annotations

import tempfile
from importlib.resources import files
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from multistep_project import tables

INPUTS: tuple[str, ...] = ()
# The file scikit-learn reads the data from: its bytes are this step's input.
SOURCE_FILES = {"source": Path(str(files("sklearn.datasets.data") / "breast_cancer.csv"))}


def split(
    test_size: float, seed: int
) -> tuple[tuple[pd.DataFrame, pd.Series], tuple[pd.DataFrame, pd.Series]]:
    """Stratified (features, target) train and test parts; the same seed gives the same rows."""
    features, target = load_breast_cancer(return_X_y=True, as_frame=True)
    features.columns = [str(c).replace(" ", "_") for c in features.columns]
    x_train, x_test, y_train, y_test = train_test_split(
        features, target, test_size=test_size, random_state=seed, stratify=target
    )
    return (x_train, y_train), (x_test, y_test)


def execute(params: dict[str, Any], inputs: dict[str, Path]) -> None:
    """Log ``data/train.csv`` and ``data/test.csv`` with their row counts."""
    from multistep_project import lineage

    source = SOURCE_FILES["source"]
    # The table scikit-learn builds from the file, logged with the file's own digest.
    lineage.log_file(load_breast_cancer(as_frame=True).frame, source, "source", "target")
    train, test = split(params["test_size"], params["seed"])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "data"
        tables.write(out, tables.TRAIN, *train)
        tables.write(out, tables.TEST, *test)
        mlflow.log_artifacts(str(out), "data")
    mlflow.log_metrics(
        {"n_train": len(train[0]), "n_test": len(test[0]), "positive_rate": float(train[1].mean())}
    )
