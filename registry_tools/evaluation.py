"""Score model versions on the same data with ``mlflow.models.evaluate`` (``--evaluate``).

Each scoring is an MLflow run in the version's source experiment, tagged with the version
it scored, the model type it was scored as and the data digest, so a promotion's evidence
can be looked up later (the run ids go into the audit record). Metric names of the default
evaluators also get the short names the projects log (``accuracy_score`` -> ``accuracy``,
``root_mean_squared_error`` -> ``rmse``), so the same gates work with and without
``--evaluate``.

The model type (classifier or regressor) is the caller's (``--model-type``) or the model's
own: a scikit-learn estimator says what it is (``sklearn.base.is_classifier``); otherwise the
dtype of the predictions in the logged signature (integer, boolean or string labels: a
classifier; floats: a regressor); otherwise the label column (whole numbers: a classifier).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from harness.kernel.digests import file_digest
from harness.store.mlflow_boundary import fluent_uri
from harness.store.registry import Registry, uses_skops
from harness.store.skops_import import import_skops
from registry_tools.errors import RegistryError

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.models import ModelSignature

__all__ = [
    "MODEL_TYPES",
    "SHORT_NAMES",
    "ModelType",
    "Scored",
    "score",
    "signature_model_type",
    "with_short_names",
]

ModelType = Literal["classifier", "regressor"]
MODEL_TYPES: tuple[ModelType, ...] = ("classifier", "regressor")
SHORT_NAMES = {
    "accuracy_score": "accuracy",
    "f1_score": "f1",
    "precision_score": "precision",
    "recall_score": "recall",
    "root_mean_squared_error": "rmse",
    "mean_absolute_error": "mae",
    "mean_squared_error": "mse",
    "r2_score": "r2",
}
_LABEL_KINDS = frozenset("iubOSU")  # numpy kinds: integers, booleans, objects, strings


@dataclass(frozen=True)
class Scored:
    """Metrics of one version on the evaluation data, and the run that holds them."""

    version: str
    run_id: str
    metrics: dict[str, float]
    model_type: ModelType
    model_type_from: str  # how the type was decided, e.g. "sklearn RandomForestRegressor"


def with_short_names(metrics: dict[str, float]) -> dict[str, float]:
    """Add ``accuracy``/``f1``/... beside the evaluator's ``*_score`` names."""
    out = dict(metrics)
    for long, short in SHORT_NAMES.items():
        if long in out and short not in out:
            out[short] = out[long]
    return out


def score(
    registry: Registry,
    name: str,
    version: str,
    data: Path,
    target: str,
    *,
    model_type: ModelType | None = None,
) -> Scored:
    """Score ``models:/NAME/VERSION`` on a CSV with a ``target`` column, as ``model_type``
    (None: the type the model says it has)."""
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
        return _evaluate(registry, name, version, frame, target, experiment_id, tags, model_type)
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
    model_type: ModelType | None,
) -> Scored:
    import mlflow

    uri = f"models:/{name}/{version}"
    with fluent_uri(registry.tracking_uri), registry.converted(f"evaluate {name} v{version}"):
        if model_type is None:
            model_type, decided_by = _model_type(uri, frame[target])
        else:
            decided_by = "--model-type"
        tags = {**tags, "mlharness.evaluation_model_type": model_type}
        with mlflow.start_run(
            experiment_id=experiment_id, run_name=f"evaluate {name} v{version}", tags=tags
        ) as run:
            result = mlflow.models.evaluate(  # type: ignore[no-untyped-call]
                uri,
                data=frame,
                targets=target,
                model_type=model_type,
                evaluator_config={"log_model_explainability": False},
            )
    metrics = {k: float(v) for k, v in result.metrics.items()}
    return Scored(version, run.info.run_id, with_short_names(metrics), model_type, decided_by)


def _model_type(uri: str, labels: pd.Series) -> tuple[ModelType, str]:
    """What the model at ``uri`` is, and what said so (see the module docstring)."""
    import mlflow

    info = mlflow.models.get_model_info(uri)
    if "sklearn" in info.flavors:
        from sklearn.base import is_classifier, is_regressor

        if uses_skops(info.flavors):
            import_skops()
        estimator = mlflow.sklearn.load_model(uri)
        kind = type(estimator).__name__
        if is_classifier(estimator):
            return "classifier", f"sklearn {kind}"
        if is_regressor(estimator):
            return "regressor", f"sklearn {kind}"
    from_signature = signature_model_type(info.signature)
    if from_signature is not None:
        return from_signature, "the predictions' type in the model signature"
    import numpy as np

    values = labels.dropna().to_numpy()
    whole = labels.dtype.kind in _LABEL_KINDS or bool(np.all(np.mod(values, 1) == 0))
    return ("classifier" if whole else "regressor"), f"the values of column {labels.name!r}"


def signature_model_type(signature: ModelSignature | None) -> ModelType | None:
    """classifier/regressor from the dtype of the predictions a signature declares (the
    ``prediction`` column of a frame, or its only column or tensor)."""
    import numpy as np
    from mlflow.types import DataType

    if signature is None or signature.outputs is None:
        return None
    specs = list(signature.outputs.inputs)
    chosen = [s for s in specs if getattr(s, "name", None) == "prediction"] or specs
    if len(chosen) != 1:
        return None
    declared = chosen[0].type
    if isinstance(declared, DataType):
        declared = declared.to_numpy()
    if not isinstance(declared, np.dtype):
        return None  # arrays, objects, maps: nothing to go by
    if declared.kind in _LABEL_KINDS:
        return "classifier"
    return "regressor" if declared.kind == "f" else None
