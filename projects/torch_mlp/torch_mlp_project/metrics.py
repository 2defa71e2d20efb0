"""The final metrics: computed the same way by ``main`` (test split) and ``evaluate``."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as sk


def scores(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """accuracy, f1, roc_auc and log_loss from 0/1 labels and P(target=1)."""
    proba = np.clip(np.asarray(proba, dtype=np.float64).ravel(), 0.0, 1.0)
    label = (proba >= 0.5).astype(int)
    return {
        "accuracy": float(sk.accuracy_score(y_true, label)),
        "f1": float(sk.f1_score(y_true, label, zero_division=0.0)),
        "roc_auc": float(sk.roc_auc_score(y_true, proba)),
        "log_loss": float(sk.log_loss(y_true, proba, labels=[0, 1])),
    }
