"""Numeric chunks read from the Arrow buffer are exactly ``to_numpy``'s values as float64."""

from __future__ import annotations

import decimal

import numpy as np
import pyarrow as pa
import pytest

from monitoring.values import float64_values


def _expected(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)


@pytest.mark.parametrize(
    "array",
    [
        pa.array([1.5, -0.0, float("inf"), float("nan")], pa.float64()),
        pa.array([1.1, 2.2], pa.float32()),
        pa.array([1.5, 2.25], pa.float16()),
        pa.array([2**53 + 1, -(2**62), 7], pa.int64()),
        pa.array([255, 0], pa.uint8()),
        pa.array([2**64 - 1], pa.uint64()),
        pa.array(np.arange(10.0)).slice(3, 4),  # an offset into the buffer
        pa.chunked_array([pa.array([1, 2], pa.int32()), pa.array([3], pa.int32())]),
        pa.chunked_array([pa.array([0.5]).slice(1), pa.array([2.5])]),  # an empty chunk
        pa.chunked_array([], pa.float64()),
        pa.array([decimal.Decimal("0.1"), decimal.Decimal("2.5")]),  # kept on to_numpy
    ],
)
def test_the_buffer_read_gives_to_numpys_values(array: pa.Array | pa.ChunkedArray) -> None:
    ours = float64_values(array)
    assert ours.dtype == np.float64
    np.testing.assert_array_equal(ours, _expected(array))
