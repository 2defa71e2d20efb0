"""Step ``evaluate``: score the trained model on the held-out features."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import mlflow
import mlflow.sklearn
import numpy as np
from sklearn import metrics as sk

from multistep_project import tables
from multistep_project.skops_import import import_skops

INPUTS = ("model_uri", "features_uri")
SOURCE_FILES: dict[str, Path] = {}


def scores(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """accuracy, f1, roc_auc and log_loss from 0/1 labels and P(target=1)."""
    label = (proba >= 0.5).astype(int)
    return {
        "accuracy": float(sk.accuracy_score(y_true, label)),
        "f1": float(sk.f1_score(y_true, label, zero_division=0.0)),
        "roc_auc": float(sk.roc_auc_score(y_true, proba)),
        "log_loss": float(sk.log_loss(y_true, proba, labels=[0, 1])),
    }


def execute(params: dict[str, Any], inputs: dict[str, Path]) -> None:
    """Log the test metrics and ``evaluation/predictions.csv``."""
    import_skops()
    model = mlflow.sklearn.load_model(str(inputs["model_uri"]))
    x_test, y_test = tables.read_logged(
        inputs["features_uri"], tables.TEST, "evaluation", params["features_uri"]
    )
    proba = model.predict_proba(x_test)[:, 1]
    mlflow.log_metrics(scores(y_test.to_numpy(), proba))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "predictions.csv"
        x_test.assign(target=y_test, proba=proba).to_csv(path, index=False)
        mlflow.log_artifact(str(path), "evaluation")
