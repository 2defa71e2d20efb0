"""Reference data for a registered model, and where its profile is logged.

``mlharness monitor profile --model models:/rf@champion`` resolves the version's source
run and profiles, in this order: the DATA argument if one is given; else the first
``data/train*`` then any other ``.csv``/``.parquet`` artifact under ``data/`` of that
run (projects/rf logs its held-out split as ``data/test.csv``: same distribution as the
training data, by stratified split); else the model's logged input example (few rows:
a weak reference, said so in the description). When the data fits in memory and has no
prediction column, the model itself scores it, so the profile also covers prediction
drift and holds the reference metrics for concept drift. The profile files are logged to
the version's run under ``drift_profile/`` and the version is tagged with their URI.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa

from harness.kernel.errors import SourceError
from harness.store import mlflow_boundary
from harness.store.mlflow_boundary import first_line
from harness.store.registry import Registry
from monitoring.chunks import ColumnSource, TableSource, open_source
from registry_tools.errors import RegistryError

__all__ = [
    "DEFAULT_TARGET",
    "PREDICTION",
    "PROFILE_ARTIFACT_DIR",
    "PROFILE_TAG",
    "ModelData",
    "resolve_model_data",
]

PROFILE_ARTIFACT_DIR = "drift_profile"
PROFILE_TAG = "mlharness.drift_profile"
DEFAULT_TARGET = "target"
PREDICTION = "prediction"


@dataclass
class ModelData:
    """The reference data found for a model version, and where to log its profile.

    A context manager: the artifacts downloaded for it (``scratch``) live as long as it
    does, since a Parquet source is read lazily from there.
    """

    source: ColumnSource
    description: str
    run_id: str
    model_name: str
    version: str
    target: str | None
    prediction: str | None
    tracking_uri: str
    scratch: Path | None = None

    def close(self) -> None:
        """Remove the downloaded artifacts."""
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    def __enter__(self) -> ModelData:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def log_profile(self, paths: list[Path]) -> None:
        """Log the profile files to the version's run and tag the version with their URI."""
        registry = Registry(self.tracking_uri)
        for path in paths:
            registry.log_artifact(self.run_id, str(path), PROFILE_ARTIFACT_DIR)
        uri = f"runs:/{self.run_id}/{PROFILE_ARTIFACT_DIR}/{paths[0].name}"
        registry.set_version_tag(self.model_name, self.version, PROFILE_TAG, uri)


def resolve_model_data(
    model_uri: str, data: Path | None, *, tracking_uri: str | None = None
) -> ModelData:
    """Find the model version, its run, and reference data for it.

    An unknown model, alias or version is a ``RegistryError`` (exit 2); a store that cannot
    be reached is an ``ExternalServiceError`` (exit 5), from the registry facade.
    """
    registry = Registry(mlflow_boundary.connect(tracking_uri))
    found = registry.resolve_uri(model_uri)
    name, version, run_id = str(found.name), str(found.version), found.run_id
    if not run_id:
        raise RegistryError(f"{model_uri}: version {version} has no source run")
    scratch: Path | None = None
    try:
        if data is not None:
            source, description = open_source(data), str(data)
        else:
            scratch = Path(tempfile.mkdtemp(prefix="mlharness-profile-"))
            source, description = _run_data(registry, run_id, model_uri, scratch)
        names = source.schema.names
        target = DEFAULT_TARGET if DEFAULT_TARGET in names else None
        prediction = PREDICTION if PREDICTION in names else None
        if prediction is None and isinstance(source, TableSource):
            source = TableSource(_with_predictions(registry, model_uri, source.table, target))
            prediction = PREDICTION
    except BaseException:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        raise
    return ModelData(
        source,
        description,
        run_id,
        name,
        version,
        target,
        prediction,
        registry.tracking_uri,
        scratch,
    )


def _run_data(
    registry: Registry, run_id: str, model_uri: str, where: Path
) -> tuple[ColumnSource, str]:
    tabular = [f for f in registry.list_files(run_id, "data") if f.endswith((".csv", ".parquet"))]
    tabular.sort(key=lambda f: (not Path(f).name.startswith("train"), f))
    if tabular:
        local = registry.download_artifact(run_id, tabular[0], str(where))
        return open_source(local), f"runs:/{run_id}/{tabular[0]}"
    from mlflow.models import Model

    local = registry.download_uri(model_uri, str(where))
    try:
        example = Model.load(local).load_input_example(local)
    except (OSError, ValueError, TypeError, KeyError) as exc:  # the model's own files
        raise SourceError(
            f"{model_uri}: no data artifact and no readable input example: {first_line(exc)}"
        ) from exc
    if example is None:
        raise SourceError(
            f"{model_uri}: its run has no data/ artifact and no input example",
            hint="pass the training data as DATA",
        )
    import pandas as pd

    table = pa.Table.from_pandas(pd.DataFrame(example), preserve_index=False)
    return TableSource(table), f"{model_uri} input example ({table.num_rows} rows)"


def _with_predictions(
    registry: Registry, model_uri: str, table: pa.Table, target: str | None
) -> pa.Table:
    """Score the reference with the model so prediction drift has a reference too."""
    import numpy as np

    features = table.drop_columns([target]) if target else table
    model = registry.load_pyfunc(model_uri)  # the store's failures: exit 2 or 5
    try:
        predicted: Any = np.asarray(model.predict(features.to_pandas())).reshape(-1)
    except (ValueError, TypeError, KeyError) as exc:
        raise SourceError(
            f"{model_uri}: cannot score the reference data: {first_line(exc)}"
        ) from exc
    return table.append_column(PREDICTION, pa.array(predicted))
