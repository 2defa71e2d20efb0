"""Score model versions on the same data with ``mlflow.models.evaluate`` (``--evaluate``).

Each scoring is an MLflow run in the version's source experiment, tagged with the version
it scored and the data digest, so a promotion's evidence can be looked up later (the run
ids go into the audit record). Metric names of the default classifier evaluator also get
the short names the projects log (``accuracy_score`` -> ``accuracy``), so the same gates
work with and without ``--evaluate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.kernel.digests import file_digest
from harness.mlflow_boundary import fluent_uri
from registry_tools.client import Registry
from registry_tools.errors import RegistryError

if TYPE_CHECKING:
    import pandas as pd

SHORT_NAMES = {
    "accuracy_score": "accuracy",
    "f1_score": "f1",
    "precision_score": "precision",
    "recall_score": "recall",
}


@dataclass(frozen=True)
class Scored:
    """Metrics of one version on the evaluation data, and the run that holds them."""

    version: str
    run_id: str
    metrics: dict[str, float]


def with_short_names(metrics: dict[str, float]) -> dict[str, float]:
    """Add ``accuracy``/``f1``/... beside the evaluator's ``*_score`` names."""
    out = dict(metrics)
    for long, short in SHORT_NAMES.items():
        if long in out and short not in out:
            out[short] = out[long]
    return out


def score(registry: Registry, name: str, version: str, data: Path, target: str) -> Scored:
    """Score ``models:/NAME/VERSION`` on a CSV with a ``target`` column."""
    import pandas as pd

    if not data.is_file():
        raise RegistryError(f"--evaluate {data}: not a file", hint="give a CSV file")
    try:
        frame = pd.read_csv(data)
    except (ValueError, OSError) as exc:  # pandas' parser errors are ValueErrors
        raise RegistryError(f"--evaluate {data}: not a readable CSV: {exc}") from exc
    if target not in frame.columns:
        raise RegistryError(
            f"--evaluate {data}: no {target!r} column", hint="name the label column with --target"
        )
    model_version = registry.get_version(name, version)
    experiment_id = (
        registry.get_run(model_version.run_id).info.experiment_id if model_version.run_id else None
    )
    tags = {
        "mlharness.evaluation_of": f"{name}/{version}",
        "mlharness.evaluation_data": str(data),
        "mlharness.evaluation_data_digest": file_digest(data),
    }
    try:
        return _evaluate(registry, name, version, frame, target, experiment_id, tags)
    except (ValueError, TypeError, KeyError) as exc:  # data that does not fit the model
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RegistryError(
            f"cannot evaluate version {version} of {name!r} on {data}: {first}"
        ) from exc


def _evaluate(
    registry: Registry,
    name: str,
    version: str,
    frame: pd.DataFrame,
    target: str,
    experiment_id: str | None,
    tags: dict[str, str],
) -> Scored:
    import mlflow

    with (
        fluent_uri(registry.tracking_uri),
        registry.converted(f"evaluate {name} v{version}"),
        mlflow.start_run(
            experiment_id=experiment_id, run_name=f"evaluate {name} v{version}", tags=tags
        ) as run,
    ):
        result = mlflow.models.evaluate(  # type: ignore[no-untyped-call]
            f"models:/{name}/{version}",
            data=frame,
            targets=target,
            model_type="classifier",
            evaluator_config={"log_model_explainability": False},
        )
    metrics = {k: float(v) for k, v in result.metrics.items()}
    return Scored(version, run.info.run_id, with_short_names(metrics))
