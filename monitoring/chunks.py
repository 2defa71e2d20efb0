"""Column-at-a-time access to CSV and Parquet data, in record batches.

The drift engine works one column at a time and streams that column in batches, so
memory is bounded by one column's reference support plus one batch, whatever the
number of rows. Parquet is columnar, so reading one column costs only that column.
A CSV larger than ``CSV_IN_MEMORY_BYTES`` is converted once, in a streaming pass, to
a temporary Parquet file; smaller CSVs are parsed into memory (faster).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from harness.kernel.errors import SourceError
from harness.schemas.validation import one_line

__all__ = [
    "BATCH_ROWS",
    "CSV_IN_MEMORY_BYTES",
    "ColumnSource",
    "ParquetSource",
    "TableSource",
    "open_source",
]

BATCH_ROWS = 1_000_000
CSV_IN_MEMORY_BYTES = 1 << 30


class ColumnSource(Protocol):
    """What the engine needs from a data set: its schema and batches of some columns."""

    @property
    def schema(self) -> pa.Schema: ...

    @property
    def num_rows(self) -> int: ...

    def iter_batches(self, columns: Sequence[str]) -> Iterator[pa.RecordBatch]: ...


class TableSource:
    """An in-memory Arrow table (small CSVs, tests, the Python API)."""

    def __init__(self, table: pa.Table, batch_rows: int = BATCH_ROWS) -> None:
        self.table = table
        self.batch_rows = batch_rows

    @property
    def schema(self) -> pa.Schema:
        return self.table.schema

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)

    def iter_batches(self, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        yield from self.table.select(list(columns)).to_batches(max_chunksize=self.batch_rows)


class ParquetSource:
    """A Parquet file read lazily: one column (or a few) per pass, batch by batch."""

    def __init__(self, path: Path, batch_rows: int = BATCH_ROWS) -> None:
        self.path = path
        self.batch_rows = batch_rows
        try:
            meta = pq.ParquetFile(path)
        except (OSError, pa.ArrowException) as exc:
            raise SourceError(f"{path}: not a readable Parquet file: {one_line(exc)}") from exc
        self._schema = meta.schema_arrow
        self._num_rows = int(meta.metadata.num_rows)

    @property
    def schema(self) -> pa.Schema:
        return self._schema

    @property
    def num_rows(self) -> int:
        return self._num_rows

    def iter_batches(self, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        # One ParquetFile per pass: passes run in parallel threads.
        handle = pq.ParquetFile(self.path)
        yield from handle.iter_batches(
            batch_size=self.batch_rows, columns=list(columns), use_threads=False
        )


def open_source(path: str | Path, *, batch_rows: int = BATCH_ROWS) -> ColumnSource:
    """Open a CSV or Parquet file by its suffix; raise SourceError when it cannot be read,
    is empty, or holds no rows (a header only): there is nothing to profile or compare."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: no such file", hint="give a .csv or .parquet file")
    suffix = path.suffix.lower()
    if suffix not in {".parquet", ".pq", ".csv", ".txt"}:
        raise SourceError(f"{path}: unsupported format {suffix!r}", hint="use .csv or .parquet")
    size = path.stat().st_size
    if size == 0:
        raise SourceError(f"{path}: empty file", hint="give a .csv or .parquet file with rows")
    source: ColumnSource
    if suffix in {".parquet", ".pq"}:
        source = ParquetSource(path, batch_rows)
    elif size <= CSV_IN_MEMORY_BYTES:
        source = TableSource(_read_csv(path), batch_rows)
    else:
        source = ParquetSource(_csv_to_parquet(path), batch_rows)
    if source.num_rows == 0:
        raise SourceError(f"{path}: no rows (columns {source.schema.names} but no data)")
    return source


def _check_text(path: Path) -> None:
    """Refuse a binary file up front: pyarrow would parse it as one garbled column."""
    import codecs

    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        binary = True
    else:
        binary = b"\x00" in head
    if binary:
        raise SourceError(f"{path}: not a CSV file (binary content, not UTF-8 text)")


def _read_csv(path: Path) -> pa.Table:
    _check_text(path)
    try:
        return pacsv.read_csv(path)
    except (OSError, pa.ArrowException) as exc:
        raise SourceError(f"{path}: cannot parse CSV: {one_line(exc)}") from exc


def _csv_to_parquet(path: Path) -> Path:
    """Stream a large CSV into a temporary Parquet file (deleted at interpreter exit)."""
    import atexit

    handle, name = tempfile.mkstemp(suffix=".parquet", prefix="mlharness-drift-")
    os.close(handle)
    atexit.register(lambda: Path(name).unlink(missing_ok=True))
    _check_text(path)
    try:
        reader = pacsv.open_csv(path)
        with pq.ParquetWriter(name, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
    except (OSError, pa.ArrowException) as exc:
        raise SourceError(f"{path}: cannot parse CSV: {one_line(exc)}") from exc
    return Path(name)
