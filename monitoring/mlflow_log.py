"""Log a drift report to MLflow as its own run (metrics, params and the report files)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from harness.store import mlflow_boundary

if TYPE_CHECKING:
    from monitoring.drift import DriftResult

__all__ = ["EXPERIMENT", "log_report"]

EXPERIMENT = "drift-monitoring"


def _metric_key(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", name)


def log_report(
    result: DriftResult,
    report: dict[str, object],
    *,
    html_path: Path | None = None,
    experiment: str = EXPERIMENT,
    tracking_uri: str | None = None,
) -> str:
    """Create one MLflow run for this drift report; return its run id.

    Failures of the store are converted by the MLflow boundary (exit 5 when it is down).
    """
    import mlflow

    uri = mlflow_boundary.connect(tracking_uri)
    # mlflow.start_run is fluent: MLflow's global URI points at this store for the block.
    with mlflow_boundary.fluent_uri(uri), mlflow_boundary.converted(uri, "log the drift report"):
        # Not mlflow.set_experiment: it also exports MLFLOW_EXPERIMENT_ID into this process's
        # environment, which every later run and child process would then inherit.
        client = mlflow_boundary.client(uri)
        found = client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found else client.create_experiment(experiment)
        with mlflow.start_run(
            experiment_id=experiment_id, run_name=f"drift {result.current}"
        ) as run:
            mlflow.set_tags({"mlharness.kind": "drift_report"})
            mlflow.log_params(
                {
                    "reference": result.reference,
                    "current": result.current,
                    "drift_share_threshold": result.drift_share_threshold,
                    "n_reference": result.n_reference,
                    "n_current": result.n_current,
                }
            )
            metrics = {
                "dataset_drift": float(result.dataset_drift),
                "drift_share": result.drift_share,
                "n_drifted_features": float(result.n_drifted_features),
            }
            if result.concept is not None:
                metrics["concept_drift"] = float(result.concept.drift)
            for column in result.columns:
                key = _metric_key(column.name)
                metrics[f"drift.{key}.detected"] = float(column.drift)
                if column.score is not None and abs(column.score) != float("inf"):
                    metrics[f"drift.{key}.{column.method}"] = column.score
            mlflow.log_metrics(metrics)
            mlflow.log_dict(report, "drift/report.json")
            if html_path is not None:
                mlflow.log_artifact(str(html_path), "drift")
            return str(run.info.run_id)
