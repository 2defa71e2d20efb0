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
    "float64_values",
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
    values = float64_values(array)
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


# Arrow primitive number types whose data buffer numpy reads as it is.
_NUMPY_DTYPES = {
    pa.float64(): np.float64,
    pa.float32(): np.float32,
    pa.float16(): np.float16,
    pa.int64(): np.int64,
    pa.int32(): np.int32,
    pa.int16(): np.int16,
    pa.int8(): np.int8,
    pa.uint64(): np.uint64,
    pa.uint32(): np.uint32,
    pa.uint16(): np.uint16,
    pa.uint8(): np.uint8,
}


def float64_values(array: pa.Array | pa.ChunkedArray) -> NDArray[np.float64]:
    """A null-free numeric array's values as float64, the same as
    ``np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)``.

    pyarrow's ``to_numpy`` imports pandas on first use (0.3 s idle, more than the rest of a
    100k-row drift check); for primitive number types the values are the data buffer, read
    with ``np.frombuffer`` (zero-copy for float64, numpy's own cast for the others: the same
    conversion ``np.asarray`` does). Other types (decimals, dictionaries) keep ``to_numpy``.
    """
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    parts: list[NDArray[np.float64]] = []
    for chunk in chunks:
        dtype = _NUMPY_DTYPES.get(chunk.type)
        if dtype is None or chunk.null_count:
            return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)
        data = chunk.buffers()[1]
        if data is None:  # an empty chunk may have no data buffer
            parts.append(np.empty(0, dtype=np.float64))
            continue
        raw = np.frombuffer(data, dtype=dtype, count=chunk.offset + len(chunk))
        parts.append(np.asarray(raw[chunk.offset :], dtype=np.float64))
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return np.empty(0, dtype=np.float64)
    return np.concatenate(parts)


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
