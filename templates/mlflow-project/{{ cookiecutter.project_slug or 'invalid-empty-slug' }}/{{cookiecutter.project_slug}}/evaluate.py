"""``evaluate`` entry point: score a logged model on a CSV file and log the metrics.

Parameters are checked before mlflow is imported, so bad input fails fast.
"""

from __future__ import annotations

import atexit
import gc
import sys
from collections.abc import Sequence
from pathlib import Path

from {{ cookiecutter.project_slug }}.params import evaluate_args, fail


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Load ``model_uri``, score it on ``data``, log and return the metrics."""
    args = evaluate_args(argv)
    path = Path(args.data)
    if not path.is_file():
        fail(f"parameter data: {path} is not a file; accepted: a CSV file")
    import mlflow
    import pandas as pd

    from {{ cookiecutter.project_slug }} import data, lineage, metrics, model

    frame = pd.read_csv(path)
    try:
        features, target = data.features_and_target(frame)
    except ValueError as exc:
        fail(f"parameter data: {exc}")

    predict_scores = model.load_scorer(args.model_uri)
    with mlflow.start_run():
        mlflow.log_params({"model_uri": args.model_uri, "data": str(path)})
        lineage.log_file(frame, path, "evaluation", data.TARGET)
        scores = metrics.score(target.to_numpy(), predict_scores(features))
        mlflow.log_metrics(scores)
        print(" ".join(f"{k}={v:.4f}" for k, v in scores.items()))
        return scores


if __name__ == "__main__":
    # Skip the interpreter's final garbage collection over everything MLflow and the ML
    # libraries imported (0.5-0.9 CPU-s per run): freeze the heap in the last exit handler.
    atexit.register(gc.freeze)
    main(sys.argv[1:])
