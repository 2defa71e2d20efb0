{%- set classification = cookiecutter.task == "classification" -%}
{%- set rf = cookiecutter.model_family == "sklearn-rf" -%}
{%- set estimator = ("RandomForest" if rf else "GradientBoosting") ~ ("Classifier" if classification else "Regressor") -%}
"""The model: a scikit-learn {{ estimator }}, logged with the ``sklearn`` flavor.

Every model module offers the same four functions (``fit``, ``predict_scores``,
``log_model``, ``load_scorer``), so training and evaluation do not depend on the family.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from sklearn.ensemble import {{ estimator }} as Model

from {{ cookiecutter.project_slug }}.skops_import import import_skops

# skops refuses to load a tree unless its type is trusted explicitly.
SKOPS_TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]


def fit(args: argparse.Namespace, x_train: pd.DataFrame, y_train: pd.Series) -> Model:
    """A seeded {{ estimator }} fitted on the training split."""
    model = Model(
        n_estimators=args.n_estimators,
        max_depth=args.max_depth,
{%- if rf %}
        min_samples_leaf=args.min_samples_leaf,
        n_jobs=1,  # thread scheduling must not change the result
{%- else %}
        learning_rate=args.learning_rate,
{%- endif %}
        random_state=args.random_state,
    )
    model.fit(x_train, y_train)
    return model


def predict_scores(model: Model, features: pd.DataFrame) -> np.ndarray:
{%- if classification %}
    """P(class=1) for every row."""
    return np.asarray(model.predict_proba(features)[:, 1], dtype=float)
{%- else %}
    """The predicted target for every row."""
    return np.asarray(model.predict(features), dtype=float)
{%- endif %}


def log_model(model: Model, example: pd.DataFrame, pip_requirements: list[str]) -> None:
    """Log the model as ``model`` with its signature, input example and pinned requirements."""
    import_skops()
    mlflow.sklearn.log_model(
        model,
        name="model",
        signature=infer_signature(example, model.predict(example)),
        input_example=example,
        skops_trusted_types=SKOPS_TRUSTED_TYPES,
        pip_requirements=pip_requirements,
    )


def load_scorer(model_uri: str) -> Callable[[pd.DataFrame], np.ndarray]:
    """Load a logged model and return its scoring function."""
    import_skops()
    model = mlflow.sklearn.load_model(model_uri)
    return lambda features: predict_scores(model, features)
