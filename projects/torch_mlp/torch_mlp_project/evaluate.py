"""``evaluate`` entry point: score a logged model on a CSV file and log the same metrics."""

from __future__ import annotations

import atexit
import gc
import sys
from collections.abc import Sequence
from pathlib import Path

from torch_mlp_project.params import EVALUATE, fail, parse


def main(argv: Sequence[str]) -> dict[str, float]:
    """Load ``model_uri``, score it on ``data``; log and return the metrics."""
    params = parse(argv, EVALUATE)
    path = Path(params["data"])
    if not path.is_file():
        fail(f"parameter data: {path} is not a file; accepted: {EVALUATE['data'].accepted}")
    import mlflow
    import mlflow.pytorch
    import pandas as pd

    from torch_mlp_project import data, lineage, metrics, network

    frame = pd.read_csv(path)
    try:
        features, target = data.xy(frame)
    except ValueError as exc:
        fail(f"parameter data: {exc}")
    model = mlflow.pytorch.load_model(params["model_uri"])
    with mlflow.start_run():
        mlflow.log_params({"model_uri": params["model_uri"], "data": str(path)})
        lineage.log_file(frame, path, "evaluation", data.TARGET)
        scores = metrics.scores(target, network.predict_proba(model, features))
        mlflow.log_metrics(scores)
        print(" ".join(f"{k}={v:.4f}" for k, v in scores.items()))
        return scores


if __name__ == "__main__":
    # Skip the interpreter's final garbage collection over everything MLflow and the ML
    # libraries imported (0.5-0.9 CPU-s per run): freeze the heap in the last exit handler.
    atexit.register(gc.freeze)
    main(sys.argv[1:])
