{%- set classification = cookiecutter.task == "classification" -%}
"""The model: a custom ``mlflow.pyfunc.PythonModel`` around a scikit-learn pipeline.

A custom pyfunc owns its output format: this one returns a frame with a ``prediction``
column{% if classification %} and the class-1 ``probability``{% endif %}, whatever serves it. The package
is logged beside the model (``code_paths``) so the class loads anywhere.

Every model module offers the same four functions (``fit``, ``predict_scores``,
``log_model``, ``load_scorer``), so training and evaluation do not depend on the family.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from mlflow.pyfunc.model import PythonModel
{%- if classification %}
from sklearn.linear_model import LogisticRegression
{%- else %}
from sklearn.linear_model import Ridge
{%- endif %}
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

PACKAGE = Path(__file__).resolve().parent


class TabularModel(PythonModel):
    """Scales, predicts and shapes the output frame; the columns it was fitted on come first."""

    def __init__(self, pipeline: Pipeline, columns: list[str]) -> None:
        self.pipeline = pipeline
        self.columns = columns

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        features = pd.DataFrame(model_input)[self.columns]
{%- if classification %}
        probability = self.pipeline.predict_proba(features)[:, 1]
        return pd.DataFrame(
            {"prediction": (probability >= 0.5).astype("int64"), "probability": probability}
        )
{%- else %}
        return pd.DataFrame({"prediction": self.pipeline.predict(features).astype("float64")})
{%- endif %}


def fit(args: argparse.Namespace, x_train: pd.DataFrame, y_train: pd.Series) -> TabularModel:
    """A standardised {% if classification %}logistic regression (C = 1 / alpha){% else %}ridge regression{% endif %} fitted on the training split."""
    pipeline = make_pipeline(
        StandardScaler(),
{%- if classification %}
        LogisticRegression(C=1.0 / args.alpha, max_iter=1000, random_state=args.random_state),
{%- else %}
        Ridge(alpha=args.alpha),
{%- endif %}
    )
    pipeline.fit(x_train, y_train)
    return TabularModel(pipeline, list(x_train.columns))


def predict_scores(model: TabularModel, features: pd.DataFrame) -> np.ndarray:
{%- if classification %}
    """P(class=1) for every row."""
    return np.asarray(model.predict(None, features)["probability"], dtype=float)
{%- else %}
    """The predicted target for every row."""
    return np.asarray(model.predict(None, features)["prediction"], dtype=float)
{%- endif %}


def log_model(model: TabularModel, example: pd.DataFrame, pip_requirements: list[str]) -> None:
    """Log the model as ``model`` with its signature, input example, code and pins."""
    mlflow.pyfunc.log_model(
        name="model",
        python_model=model,
        code_paths=[str(PACKAGE)],
        signature=infer_signature(example, model.predict(None, example)),
        input_example=example,
        pip_requirements=pip_requirements,
    )


def load_scorer(model_uri: str) -> Callable[[pd.DataFrame], np.ndarray]:
    """Load a logged model and return its scoring function."""
    loaded = mlflow.pyfunc.load_model(model_uri)
    column = {% if classification %}"probability"{% else %}"prediction"{% endif %}
    return lambda features: np.asarray(loaded.predict(features)[column], dtype=float)
