"""Figures logged beside the metrics."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display in CI or on servers

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay


def confusion_matrix_figure(y_true: np.ndarray, predicted: np.ndarray) -> Figure:
    """A confusion-matrix plot of the test predictions."""
    fig, ax = plt.subplots(figsize=(4, 4))
    ConfusionMatrixDisplay.from_predictions(y_true, predicted, ax=ax, colorbar=False)
    ax.set_title("Confusion matrix (test)")
    fig.tight_layout()
    return fig


def feature_importance_figure(names: list[str], importances: np.ndarray, top: int = 15) -> Figure:
    """A horizontal bar chart of the ``top`` most important features."""
    order = np.argsort(importances)[::-1][:top][::-1]
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(order) + 1))
    ax.barh([names[i] for i in order], importances[order])
    ax.set_xlabel("mean decrease in impurity")
    ax.set_title("Feature importance")
    fig.tight_layout()
    return fig
