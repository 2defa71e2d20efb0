"""The model with its default parameters: better than a trivial baseline, and reproducible."""

from __future__ import annotations

import functools

import numpy as np

from {{ cookiecutter.project_slug }} import data, metrics, model, params
from {{ cookiecutter.project_slug }}.seeding import seed_everything


def _fit_and_score() -> tuple[np.ndarray, dict[str, float]]:
    args = params.train_args([])
    seed_everything(args.random_state)
    train, test = data.split(data.load_frame(), args.test_size, args.random_state)
    x_train, y_train = data.features_and_target(train)
    x_test, y_test = data.features_and_target(test)
    fitted = model.fit(args, x_train, y_train)
    scores = model.predict_scores(fitted, x_test)
    assert scores.shape == (len(x_test),)
    return scores, metrics.score(y_test.to_numpy(), scores)


@functools.cache
def _default_fit() -> tuple[np.ndarray, dict[str, float]]:
    """The first fit, shared by the tests below (the second test fits again to compare)."""
    return _fit_and_score()


def test_default_model_beats_a_trivial_baseline() -> None:
    _, scores = _default_fit()
    assert set(scores) == set(metrics.NAMES)
{%- if cookiecutter.task == "classification" %}
    assert scores["accuracy"] > 0.85  # always predicting the majority class gives about 0.63
    assert scores["roc_auc"] > 0.9
{%- else %}
    assert scores["r2"] > 0.2  # predicting the mean gives about 0
{%- endif %}


def test_same_parameters_give_the_same_scores() -> None:
    first, _ = _default_fit()
    second, _ = _fit_and_score()
    np.testing.assert_array_equal(first, second)
