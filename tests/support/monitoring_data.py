"""Seeded frames with known drift for the monitoring tests (shared by all three suites)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

FEATURES = ["x0", "x1", "x2", "x3", "cat"]


def frame(rows: int, seed: int, *, shift: float = 0.0, accuracy: float = 0.9) -> pa.Table:
    """Four numerical and one categorical feature, a 0/1 target and a prediction.

    ``shift`` moves x0, x1 and x2 by that many standard deviations and makes category
    "c" dominant; ``accuracy`` is the share of rows where prediction equals target.
    """
    rng = np.random.default_rng(seed)
    p = np.array([0.5, 0.3, 0.2]) if shift == 0 else np.array([0.1, 0.2, 0.7])
    target = rng.integers(0, 2, rows)
    prediction = np.where(rng.random(rows) < accuracy, target, 1 - target)
    return pa.table(
        {
            "x0": rng.normal(shift, 1.0, rows),
            "x1": rng.lognormal(shift, 0.5, rows),
            "x2": np.round(rng.normal(10 + 2 * shift, 2.0, rows), 1),
            "x3": rng.uniform(0, 1, rows),
            "cat": pa.array(np.array(["a", "b", "c"])[rng.choice(3, rows, p=p)]),
            "target": target,
            "prediction": prediction,
        }
    )


def write(table: pa.Table, path: Path) -> Path:
    """Write as Parquet or CSV by suffix."""
    if path.suffix == ".csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    return path
