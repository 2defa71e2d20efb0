"""Training and logging for the ``main`` entry point (parameters already checked)."""

from __future__ import annotations

import argparse
from pathlib import Path

import mlflow

from {{ cookiecutter.project_slug }} import data, lineage, metrics, model, params
from {{ cookiecutter.project_slug }}.seeding import seed_everything

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.txt"


def pinned_requirements() -> list[str]:
    """The model's pip requirements: the project's own pins, not a guess from imports."""
    lines = (line.strip() for line in REQUIREMENTS.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def train_and_log(args: argparse.Namespace) -> str:
    """Train, score the held-out split, log everything to MLflow; returns the run id."""
    seed_everything(args.random_state)

    frame = data.load_frame()
    train, test = data.split(frame, args.test_size, args.random_state)
    x_train, y_train = data.features_and_target(train)
    x_test, y_test = data.features_and_target(test)

    with mlflow.start_run() as run:
        mlflow.log_params(params.loggable(args))
        lineage.log_frame(train, f"{data.DATASET}_train", "training", data.TARGET)
        lineage.log_frame(test, f"{data.DATASET}_test", "testing", data.TARGET)

        fitted = model.fit(args, x_train, y_train)
        scores = metrics.score(y_test.to_numpy(), model.predict_scores(fitted, x_test))
        mlflow.log_metrics(scores)
        # The held-out split, so `evaluate` can be run on exactly the rows scored here.
        mlflow.log_text(test.to_csv(index=False), "data/test.csv")

        model.log_model(fitted, x_train.head(5), pinned_requirements())
        # The model is handed on by its MLflow 3 URI, models:/m-<id> (the DAG reads it here).
        logged = mlflow.last_logged_model()
        model_uri = f"models:/{logged.model_id}" if logged is not None else "none"
        print(
            f"run_id={run.info.run_id} model_uri={model_uri} "
            + " ".join(f"{k}={v:.4f}" for k, v in scores.items())
        )
        return str(run.info.run_id)
