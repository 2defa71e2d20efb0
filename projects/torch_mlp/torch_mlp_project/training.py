"""Training and logging for the ``main`` entry point (parameters already checked)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import mlflow.pytorch
import yaml
from mlflow.models import infer_signature

from torch_mlp_project import data, lineage, metrics, network
from torch_mlp_project.seeding import make_deterministic

PYTHON_ENV = Path(__file__).resolve().parent.parent / "python_env.yaml"


def pinned_requirements() -> list[str]:
    """The model's pip requirements: the project's own exact pins, not a guess from imports."""
    return [str(req) for req in yaml.safe_load(PYTHON_ENV.read_text())["dependencies"]]


def log_missing_params(run_id: str, params: dict[str, Any]) -> None:
    """Log the parameters the run does not have yet.

    ``mlflow run`` has already logged them as typed (``lr=1e-2``); logging the parsed value
    (``0.01``) again would be refused as a change, so only a run started otherwise logs here.
    """
    logged = mlflow.get_run(run_id).data.params
    mlflow.log_params({name: value for name, value in params.items() if name not in logged})


def train_and_log(params: dict[str, Any]) -> str:
    """Train, log per-epoch and test metrics and the model; returns the run id."""
    generator = make_deterministic(params["seed"])
    splits = data.split(data.load_frame(), params["seed"])
    x_train, y_train = data.xy(splits.train)
    x_test, y_test = data.xy(splits.test)

    with mlflow.start_run() as run:
        log_missing_params(run.info.run_id, params)
        for part, context in ((splits.train, "training"), (splits.test, "testing")):
            name = f"breast_cancer_{context}"
            lineage.log_frame(part, name, context, data.TARGET)

        net = network.build(x_train, params["hidden_units"])
        network.fit(
            net,
            (x_train, y_train),
            data.xy(splits.val),
            epochs=params["epochs"],
            lr=params["lr"],
            batch_size=params["batch_size"],
            generator=generator,
            on_epoch=lambda epoch, row: mlflow.log_metrics(row, step=epoch),
        )
        model = network.with_probability(net)
        scores = metrics.scores(y_test, network.predict_proba(model, x_test))
        mlflow.log_metrics(scores)
        # The held-out split, so `evaluate` can score exactly the rows scored here.
        mlflow.log_text(splits.test.to_csv(index=False), "data/test.csv")

        # A float32 array, not a frame: MLflow's default (and pickle-free) 'pt2' format traces
        # the model with this example, and needs a tensor signature.
        example = x_train.head(5).to_numpy().copy()  # a writable copy: torch wants one
        output = network.predict_proba(model, x_train.head(5)).reshape(-1, 1)
        logged = mlflow.pytorch.log_model(
            model,
            name="model",
            signature=infer_signature(example, output),
            input_example=example,
            pip_requirements=pinned_requirements(),
        )
        # The model is handed on by its MLflow 3 URI, models:/m-<id>.
        print(
            f"run_id={run.info.run_id} model_uri={logged.model_uri} "
            + " ".join(f"{k}={v:.4f}" for k, v in scores.items())
        )
        return str(run.info.run_id)
