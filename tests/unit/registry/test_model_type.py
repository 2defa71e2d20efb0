"""What ``--evaluate`` scores a model as when ``--model-type`` is not given: the type of the
predictions a logged signature declares (no store, no model loaded)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow.models import ModelSignature, infer_signature

from registry_tools.evaluation import signature_model_type, with_short_names

FEATURES = pd.DataFrame({"a": [0.5, 1.5], "b": [1.0, 2.0]})


@pytest.mark.parametrize(
    "predictions,expected",
    [
        (np.array([0, 1]), "classifier"),  # sklearn classifier: integer labels
        (np.array(["cat", "dog"]), "classifier"),
        (np.array([True, False]), "classifier"),
        (np.array([0.25, 3.5]), "regressor"),  # sklearn regressor: floats
        # the template's custom pyfunc: a frame whose prediction column decides
        (pd.DataFrame({"prediction": [0, 1], "probability": [0.2, 0.9]}), "classifier"),
        (pd.DataFrame({"prediction": [0.5, 1.5]}), "regressor"),
        (pd.DataFrame({"p": [0, 1], "q": [0.2, 0.9]}), None),  # two columns, no "prediction"
    ],
)
def testsignature_model_type(predictions: object, expected: str | None) -> None:
    signature = infer_signature(FEATURES, predictions)
    assert signature_model_type(signature) == expected


def test_no_signature_or_no_outputs_decides_nothing() -> None:
    assert signature_model_type(None) is None
    assert signature_model_type(ModelSignature(inputs=infer_signature(FEATURES).inputs)) is None


def test_regression_metrics_get_the_short_names_the_template_logs() -> None:
    metrics = with_short_names(
        {"root_mean_squared_error": 1.0, "mean_absolute_error": 0.5, "r2_score": 0.9}
    )
    assert {metrics["rmse"], metrics["mae"], metrics["r2"]} == {1.0, 0.5, 0.9}
