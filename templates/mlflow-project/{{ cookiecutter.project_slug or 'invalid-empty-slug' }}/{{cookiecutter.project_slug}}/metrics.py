{%- set classification = cookiecutter.task == "classification" -%}
"""The metrics both entry points log, from true targets and the model's scores."""

from __future__ import annotations

import numpy as np
{%- if classification %}
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

NAMES = ("accuracy", "f1", "roc_auc", "log_loss")


def score(y_true: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """accuracy, f1, roc_auc and log_loss from the true 0/1 labels and P(class=1)."""
    y_true = np.asarray(y_true)
    proba = np.clip(np.asarray(scores, dtype=float), 0.0, 1.0)
    predicted = (proba >= 0.5).astype(int)
    return {
        "accuracy": float(accuracy_score(y_true, predicted)),
        "f1": float(f1_score(y_true, predicted)),
        "roc_auc": float(roc_auc_score(y_true, proba)),
        "log_loss": float(log_loss(y_true, np.column_stack([1 - proba, proba]), labels=[0, 1])),
    }
{%- else %}
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

NAMES = ("rmse", "mae", "r2")


def score(y_true: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """rmse, mae and r2 from the true targets and the predictions."""
    y_true = np.asarray(y_true, dtype=float)
    predicted = np.asarray(scores, dtype=float)
    return {
        "rmse": float(root_mean_squared_error(y_true, predicted)),
        "mae": float(mean_absolute_error(y_true, predicted)),
        "r2": float(r2_score(y_true, predicted)),
    }
{%- endif %}
