"""Step ``train``: a seeded logistic regression on the features, logged as ``model``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import mlflow.sklearn
import yaml
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

from multistep_project import tables
from multistep_project.keys import PROJECT_DIR
from multistep_project.skops_import import import_skops

INPUTS = ("features_uri",)
SOURCE_FILES: dict[str, Path] = {}


def pinned_requirements() -> list[str]:
    """The model's pip requirements: the project's own exact pins, not a guess from imports."""
    spec = yaml.safe_load((PROJECT_DIR / "python_env.yaml").read_text())
    return [str(req) for req in spec["dependencies"]]


def execute(params: dict[str, Any], inputs: dict[str, Path]) -> None:
    """Fit on ``features/train.csv``; log the training accuracy and the model."""
    x_train, y_train = tables.read_logged(
        inputs["features_uri"], tables.TRAIN, "training", params["features_uri"]
    )
    model = LogisticRegression(
        C=params["C"], max_iter=params["max_iter"], random_state=params["seed"]
    )
    model.fit(x_train, y_train)
    mlflow.log_metric("train_accuracy", float(model.score(x_train, y_train)))
    example = x_train.head(5)
    import_skops()
    mlflow.sklearn.log_model(
        model,
        name="model",
        signature=infer_signature(example, model.predict(example)),
        input_example=example,
        pip_requirements=pinned_requirements(),
    )
