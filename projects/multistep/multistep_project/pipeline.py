"""Entry point ``main``: the four steps as nested runs of one pipeline run."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import mlflow
from mlflow.tracking import MlflowClient

from multistep_project.runner import StepRun, log_missing_params, logged_model_uri, run_step

REUSED_TAG = "multistep.reused"
RAN_TAG = "multistep.ran"


def run_pipeline(params: dict[str, Any]) -> list[StepRun]:
    """ingest -> featurize -> train -> evaluate, each fed the URI of the one before's output
    (artifacts by ``runs:/`` URI, the model by its MLflow 3 URI ``models:/m-<id>``).

    The pipeline run records which steps were reused and which ran, each step's run id,
    and the evaluation's metrics.
    """
    with mlflow.start_run() as parent, tempfile.TemporaryDirectory() as tmp:
        log_missing_params(parent.info.run_id, params)
        workdir = Path(tmp)
        seed = params["seed"]
        ingest = run_step(
            "ingest", {"test_size": params["test_size"], "seed": seed}, workdir, nested=True
        )
        featurize = run_step(
            "featurize",
            {"data_uri": f"runs:/{ingest.run_id}/data", "select_k": params["select_k"]},
            workdir,
            nested=True,
        )
        features_uri = f"runs:/{featurize.run_id}/features"
        train = run_step(
            "train",
            {
                "features_uri": features_uri,
                "C": params["C"],
                "max_iter": params["max_iter"],
                "seed": seed,
            },
            workdir,
            nested=True,
        )
        evaluate = run_step(
            "evaluate",
            {"model_uri": logged_model_uri(train.run_id), "features_uri": features_uri},
            workdir,
            nested=True,
        )
        steps = [ingest, featurize, train, evaluate]
        mlflow.set_tags(
            {
                REUSED_TAG: ",".join(s.step for s in steps if s.reused) or "none",
                RAN_TAG: ",".join(s.step for s in steps if not s.reused) or "none",
                **{f"multistep.run_id.{s.step}": s.run_id for s in steps},
            }
        )
        mlflow.log_metrics(MlflowClient().get_run(evaluate.run_id).data.metrics)
        for s in steps:
            print(f"{s.step}: {'reused' if s.reused else 'ran'} run_id={s.run_id}")
        return steps
