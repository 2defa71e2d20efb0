"""Dataset lineage: what data a run read, logged with ``mlflow.log_input``.

A file named by a parameter is logged with the sha256 of its bytes, the digest mlharness
records for that parameter in the run's manifest: MLflow's dataset digest holds its first
36 characters (the column's width), the input tag ``mlharness.sha256`` all of it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
from mlflow.data.dataset import Dataset
from mlflow.data.pandas_dataset import from_pandas

from torch_mlp_project.concurrent_logging import log_input

SHA256_TAG = "mlharness.sha256"
URI_TAG = "mlharness.uri"
DIGEST_WIDTH = 36  # MLflow's datasets.digest column


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def log_frame(frame: pd.DataFrame, name: str, context: str, targets: str | None) -> None:
    """Log an in-memory table (source, schema and MLflow's own digest) in ``context``."""
    _log(from_pandas(frame, name=name, targets=targets), context, {})


def log_file(
    frame: pd.DataFrame,
    path: Path,
    context: str,
    targets: str | None,
    *,
    uri: str | None = None,
) -> None:
    """Log ``frame``, read from ``path``, with the file's sha256 as its digest; ``uri`` is
    where the file was fetched from (an artifact URI, kept as the input tag
    ``mlharness.uri``: MLflow resolves no ``runs:/`` dataset source)."""
    sha = file_sha256(path)
    dataset = from_pandas(
        frame,
        source=str(path.resolve()),
        name=path.stem,
        targets=targets,
        digest=sha[:DIGEST_WIDTH],
    )
    _log(dataset, context, {SHA256_TAG: sha, **({URI_TAG: uri} if uri else {})})


def _log(dataset: Dataset, context: str, tags: dict[str, str]) -> None:
    # Trials that start together log the same new dataset at once: concurrent_logging's
    # log_input survives MLflow's lookup-then-insert race on every store.
    log_input(dataset, context=context, tags=tags or None)
