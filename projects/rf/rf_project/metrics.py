"""Classification metrics logged by both entry points."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score


def classification_metrics(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """accuracy, f1, roc_auc and log_loss from the true labels and P(class=1)."""
    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=float)
    predicted = (proba >= 0.5).astype(int)
    return {
        "accuracy": float(accuracy_score(y_true, predicted)),
        "f1": float(f1_score(y_true, predicted)),
        "roc_auc": float(roc_auc_score(y_true, proba)),
        "log_loss": float(log_loss(y_true, np.column_stack([1 - proba, proba]), labels=[0, 1])),
    }
