"""Turning Arrow chunks into what the statistics consume, and the non-finite policy.

Policy (documented in the README): missing values (null, NaN) and infinities (+inf,
-inf) are excluded from every statistic, counted per column on both sides and reported
with their shares; a column whose non-finite share moved by more than
``NONFINITE_SHIFT_FLAG`` is flagged. A side with no finite value gives null statistics
with a reason, never NaN and never a crash.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

__all__ = [
    "MAX_INT_CATEGORIES",
    "NONFINITE_SHIFT_FLAG",
    "NonFinite",
    "as_text",
    "category_counts",
    "count_categories",
    "kind_of",
    "numeric_chunk",
]

NONFINITE_SHIFT_FLAG = 0.1
# Integer columns with at most this many distinct reference values are categorical.
MAX_INT_CATEGORIES = 10


@dataclass
class NonFinite:
    """Counts of excluded values in one column."""

    missing: int = 0  # null or NaN
    pos_inf: int = 0
    neg_inf: int = 0

    def add(self, other: NonFinite) -> None:
        self.missing += other.missing
        self.pos_inf += other.pos_inf
        self.neg_inf += other.neg_inf

    @property
    def total(self) -> int:
        return self.missing + self.pos_inf + self.neg_inf

    def to_dict(self) -> dict[str, int]:
        return {"missing": self.missing, "pos_inf": self.pos_inf, "neg_inf": self.neg_inf}


def kind_of(arrow_type: pa.DataType) -> str | None:
    """'numerical', 'categorical', 'integer' (decided later by cardinality) or None (skip)."""
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "numerical"
    if pa.types.is_integer(arrow_type):
        return "integer"
    if (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_boolean(arrow_type)
        or pa.types.is_dictionary(arrow_type)
    ):
        return "categorical"
    return None


def numeric_chunk(array: pa.Array | pa.ChunkedArray) -> tuple[NDArray[np.float64], NonFinite]:
    """Finite float64 values of a chunk, and the count of what was excluded."""
    nulls = int(array.null_count)
    if nulls:
        array = pc.drop_null(array)
    values = np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)
    finite = np.isfinite(values)
    if finite.all():
        return values, NonFinite(missing=nulls)
    bad = values[~finite]
    counts = NonFinite(
        missing=nulls + int(np.isnan(bad).sum()),
        pos_inf=int((bad == np.inf).sum()),
        neg_inf=int((bad == -np.inf).sum()),
    )
    return values[finite], counts


def category_counts(array: pa.Array | pa.ChunkedArray) -> tuple[Counter[str], int]:
    """Counts of each category (as text) in a chunk, and the number of nulls."""
    nulls = int(array.null_count)
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    array = as_text(array)
    counts: Counter[str] = Counter()
    for item in pc.value_counts(array).to_pylist():
        if item["values"] is not None:
            counts[str(item["values"])] += int(item["counts"])
    return counts, nulls


def count_categories(
    arrays: Iterable[pa.Array | pa.ChunkedArray],
) -> tuple[Counter[str], NonFinite]:
    """Category counts over a column's chunks, and its missing values."""
    counts: Counter[str] = Counter()
    excluded = NonFinite()
    for array in arrays:
        chunk, nulls = category_counts(array)
        counts.update(chunk)
        excluded.missing += nulls
    return counts, excluded


def as_text(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """The values as strings (text arrays are returned as they are)."""
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return array
    if pa.types.is_boolean(array.type):
        return pc.if_else(array, "true", "false")
    if pa.types.is_floating(array.type):
        # 1.0 and 1 are one category whatever the file format wrote.
        as_int = pc.cast(array, pa.int64(), safe=False)
        whole = pc.equal(pc.cast(as_int, array.type), array)
        return pc.if_else(whole, pc.cast(as_int, pa.string()), pc.cast(array, pa.string()))
    return pc.cast(array, pa.string())
