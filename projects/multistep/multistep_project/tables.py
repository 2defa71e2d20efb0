"""CSV tables passed between steps: features plus a ``target`` column."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

TARGET = "target"
TRAIN, TEST = "train.csv", "test.csv"


def read(directory: Path, name: str) -> tuple[pd.DataFrame, pd.Series]:
    """The feature columns and the target of ``directory/name``."""
    frame = pd.read_csv(directory / name)
    if TARGET not in frame.columns:
        raise ValueError(f"{directory / name} has no {TARGET!r} column")
    return frame.drop(columns=[TARGET]), frame[TARGET]


def read_logged(
    directory: Path, name: str, context: str, uri: str
) -> tuple[pd.DataFrame, pd.Series]:
    """``read``, and log the file as this run's input in ``context`` (fetched from ``uri``)."""
    from multistep_project import lineage

    frame = pd.read_csv(directory / name)
    lineage.log_file(frame, directory / name, context, TARGET, uri=f"{uri}/{name}")
    return read(directory, name)


def write(directory: Path, name: str, features: pd.DataFrame, target: pd.Series) -> None:
    """Write features and target as one CSV with a fixed float format (stable bytes)."""
    directory.mkdir(parents=True, exist_ok=True)
    frame = features.reset_index(drop=True).assign(**{TARGET: target.to_numpy()})
    frame.to_csv(directory / name, index=False, float_format="%.10g")
