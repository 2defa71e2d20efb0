"""The reference profile: everything a drift check needs, built once from training data.

Stored as two files written atomically side by side:

* ``profile.json`` - the readable header: schema version, roles (target, prediction),
  per column its kind, counts of excluded values, moments, quantiles and, for
  categorical columns, the category counts; for classification the reference metrics.
* ``profile.npz`` (same stem) - for each numerical column the exact compressed
  reference: its sorted distinct finite values and, unless all are 1, their counts.

Exact two-sample KS and Wasserstein need the reference's full empirical distribution,
so the payload grows with the number of distinct values (8 bytes each; 16 with ties).
For a small profile, ``max_values`` keeps a seeded uniform sample of that many values
per column: statistics stay exact with respect to that sample, which becomes the
reference.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa

from harness.kernel.atomic import temp_beside
from harness.kernel.digests import file_digest
from harness.kernel.errors import ConfigError, SourceError
from harness.schemas.validation import InvalidFile, one_line, validate
from monitoring.chunks import ColumnSource
from monitoring.schemas import PROFILE_KIND, PROFILE_SCHEMA_VERSION, ProfileHeader
from monitoring.stats_numeric import Support
from monitoring.values import (
    MAX_INT_CATEGORIES,
    NonFinite,
    count_categories,
    kind_of,
    numeric_chunk,
)

__all__ = [
    "QUANTILES",
    "SCHEMA_VERSION",
    "ColumnProfile",
    "Profile",
    "build_profile",
    "check_batch_types",
    "load_profile",
    "payload_path_for",
    "save_profile",
]

SCHEMA_VERSION = PROFILE_SCHEMA_VERSION
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


@dataclass
class ColumnProfile:
    """One column of the reference."""

    name: str
    kind: str  # "numerical" | "categorical"
    role: str  # "feature" | "target" | "prediction"
    n_rows: int
    nonfinite: NonFinite
    n_finite: int = 0
    mean: float | None = None
    std: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    quantiles: dict[str, float] = field(default_factory=dict)
    n_distinct: int = 0
    sampled: bool = False
    categories: dict[str, int] = field(default_factory=dict)
    support: Support | None = None  # numerical only; loaded lazily from the payload

    def header(self) -> dict[str, object]:
        """This column as ``profile.json`` holds it (:class:`schemas.ColumnHeader`)."""
        data: dict[str, object] = {
            "kind": self.kind,
            "role": self.role,
            "n_rows": self.n_rows,
            "nonfinite": self.nonfinite.to_dict(),
            "n_finite": self.n_finite,
        }
        if self.kind == "numerical":
            data.update(
                mean=self.mean,
                std=self.std,
                min=self.minimum,
                max=self.maximum,
                quantiles=self.quantiles,
                n_distinct=self.n_distinct,
                sampled=self.sampled,
            )
        else:
            data["categories"] = self.categories
        return data


@dataclass
class Profile:
    """The whole reference: columns by name, roles, reference metrics, payload location."""

    columns: dict[str, ColumnProfile]
    n_rows: int
    source: str
    target: str | None = None
    prediction: str | None = None
    reference_metrics: dict[str, float] = field(default_factory=dict)
    created_at: str = ""
    payload_path: Path | None = None

    def support(self, name: str) -> Support:
        """The exact reference of a numerical column (read from the payload on first use)."""
        column = self.columns[name]
        if column.support is None:
            if self.payload_path is None:
                raise SourceError(f"profile has no payload for column {name!r}")
            index = list(self.columns).index(name)
            with np.load(self.payload_path) as payload:
                values = payload[f"{index}.values"]
                counts_key = f"{index}.counts"
                if counts_key in payload.files:
                    cum = np.cumsum(payload[counts_key], dtype=np.int64)
                else:
                    cum = np.arange(1, len(values) + 1, dtype=np.int64)
            column.support = Support(np.asarray(values, dtype=np.float64), cum)
        return column.support

    def header(self) -> dict[str, object]:
        """``profile.json`` without the payload fields (:class:`schemas.ProfileHeader`)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": PROFILE_KIND,
            "created_at": self.created_at,
            "source": self.source,
            "n_rows": self.n_rows,
            "target": self.target,
            "prediction": self.prediction,
            "reference_metrics": self.reference_metrics,
            "columns": {name: column.header() for name, column in self.columns.items()},
        }


def build_profile(
    source: ColumnSource,
    *,
    name: str,
    target: str | None = None,
    prediction: str | None = None,
    categorical: Sequence[str] = (),
    numerical: Sequence[str] = (),
    max_values: int | None = None,
    threads: int = 2,
) -> Profile:
    """Profile every usable column of ``source`` (one column in memory per thread)."""
    schema = source.schema
    for role, column in (("target", target), ("prediction", prediction)):
        if column is not None and column not in schema.names:
            raise SourceError(f"{name}: no {role} column {column!r}; columns: {schema.names}")
    unknown = [c for c in [*categorical, *numerical] if c not in schema.names]
    if unknown:
        raise ConfigError(name, [f"unknown column {c!r}" for c in unknown])
    plan: list[tuple[str, str | None]] = []
    for field_ in schema:
        kind = kind_of(field_.type)
        if field_.name in categorical:
            kind = "categorical"
        elif field_.name in numerical:
            kind = "numerical"
        if kind is not None:
            plan.append((field_.name, kind))
    if not plan:
        found = ", ".join(f"{f.name} ({f.type})" for f in schema)
        raise SourceError(
            f"{name}: no numerical or categorical column to profile; columns: {found}",
            hint="numbers, strings and booleans can be profiled",
        )

    def one(item: tuple[str, str | None]) -> ColumnProfile:
        column, kind = item
        role = "target" if column == target else "prediction" if column == prediction else "feature"
        return _profile_column(source, column, str(kind), role, max_values)

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        profiles = list(pool.map(one, plan))
    profile = Profile(
        columns={p.name: p for p in profiles},
        n_rows=source.num_rows,
        source=name,
        target=target,
        prediction=prediction,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    if target is not None and prediction is not None:
        from monitoring.concept import reference_metrics

        profile.reference_metrics = reference_metrics(source, profile)
    return profile


def _profile_column(
    source: ColumnSource, column: str, kind: str, role: str, max_values: int | None
) -> ColumnProfile:
    if kind == "categorical":
        counts, nonfinite = count_categories(b.column(0) for b in source.iter_batches([column]))
        return _categorical(column, role, source.num_rows, nonfinite, counts)
    nonfinite = NonFinite()
    parts = []
    for batch in source.iter_batches([column]):
        finite, excluded = numeric_chunk(batch.column(0))
        parts.append(finite)
        nonfinite.add(excluded)
    values = np.concatenate(parts) if parts else np.empty(0, np.float64)
    del parts
    sampled = max_values is not None and values.size > max_values
    if sampled:
        rng = np.random.default_rng(0)
        values = rng.choice(values, size=int(max_values or 0), replace=False)
    support = Support.from_values(values)
    if kind == "integer":
        kind = "categorical" if len(support.values) <= MAX_INT_CATEGORIES else "numerical"
        if kind == "categorical":
            cats = Counter(
                {
                    _int_text(v): int(c)
                    for v, c in zip(support.values, support.counts(), strict=True)
                }
            )
            return _categorical(column, role, source.num_rows, nonfinite, cats)
    quantiles: dict[str, float] = {}
    if values.size:
        qs = np.quantile(values, QUANTILES, method="inverted_cdf")
        quantiles = {str(q): float(v) for q, v in zip(QUANTILES, qs, strict=True)}
    return ColumnProfile(
        name=column,
        kind="numerical",
        role=role,
        n_rows=source.num_rows,
        nonfinite=nonfinite,
        n_finite=int(values.size),
        mean=float(np.mean(values)) if values.size else None,
        std=float(np.std(values)) if values.size else None,
        minimum=float(support.values[0]) if values.size else None,
        maximum=float(support.values[-1]) if values.size else None,
        quantiles=quantiles,
        n_distinct=len(support.values),
        sampled=sampled,
        support=support,
    )


def _categorical(
    column: str, role: str, rows: int, nonfinite: NonFinite, counts: Counter[str]
) -> ColumnProfile:
    return ColumnProfile(
        name=column,
        kind="categorical",
        role=role,
        n_rows=rows,
        nonfinite=nonfinite,
        n_finite=sum(counts.values()),
        categories=dict(counts.most_common()),
    )


def _int_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def check_batch_types(profile: Profile, schema: pa.Schema, current_name: str) -> None:
    """Refuse a batch whose columns cannot hold what the profile compares them with.

    A numerical column needs numbers (an all-missing column reads as type null and is
    fine: it counts as missing); a categorical one any value that has a text form.
    Every mismatch is reported at once, before any column is compared.
    """
    problems = []
    for field_ in schema:
        column = profile.columns.get(field_.name)
        if column is None or pa.types.is_null(field_.type):
            continue
        kind = kind_of(field_.type)
        if column.kind == "numerical" and kind not in {"numerical", "integer"}:
            problems.append(
                f"columns.{field_.name}: {field_.type} values, the profile expects numbers"
            )
        elif column.kind == "categorical" and kind is None:
            problems.append(
                f"columns.{field_.name}: {field_.type} values, the profile expects categories"
            )
    if problems:
        raise InvalidFile(current_name, problems)


def payload_path_for(path: Path) -> Path:
    return path.with_suffix(".npz")


def save_profile(profile: Profile, path: str | Path) -> list[Path]:
    """Write the JSON header and the ``.npz`` payload atomically; return both paths."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = payload_path_for(path)
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    for index, (name, column) in enumerate(profile.columns.items()):
        if column.kind != "numerical":
            continue
        support = profile.support(name)
        arrays[f"{index}.values"] = support.values
        counts = support.counts()
        if counts.size and counts.max() > 1:
            small = counts.max() < 2**31
            arrays[f"{index}.counts"] = counts.astype(np.int32 if small else np.int64)
    tmp_payload = temp_beside(payload)
    with open(tmp_payload, "wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]
    header = profile.header()
    header["payload"] = payload.name
    header["payload_sha256"] = file_digest(tmp_payload)
    tmp_header = temp_beside(path)
    tmp_header.write_text(json.dumps(header, indent=1, allow_nan=False) + "\n")
    os.replace(tmp_payload, payload)
    os.replace(tmp_header, path)
    profile.payload_path = payload
    return [path, payload]


def load_profile(path: str | Path) -> Profile:
    """Read and validate a profile; numerical payloads are read lazily, column by column.

    Everything that can be checked without reading the payload's values is checked here,
    so a bad profile fails before any output is written: the header against
    :class:`ProfileHeader`, and the payload's arrays (present, 1-D, right dtype and length)
    and digest.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SourceError(f"{path}: cannot read profile: {one_line(exc.strerror or exc)}") from exc
    except ValueError as exc:
        raise InvalidFile(str(path), [f"(top level): not JSON: {one_line(exc)}"]) from exc
    if not isinstance(data, dict) or data.get("kind") != PROFILE_KIND:
        raise SourceError(
            f'{path}: not an mlharness drift profile (no "kind": "{PROFILE_KIND}")',
            hint="make one with `mlharness monitor profile DATA -o profile.json`",
        )
    if data.get("schema_version") != PROFILE_SCHEMA_VERSION:
        raise SourceError(
            f"{path}: profile schema_version {data.get('schema_version')!r} is not "
            f"{PROFILE_SCHEMA_VERSION}",
            hint="rebuild the profile",
        )
    header = validate(ProfileHeader, data, str(path), error=InvalidFile)
    if Path(header.payload).name != header.payload:
        raise InvalidFile(str(path), [f"payload: {header.payload!r} is not a file name"])
    payload = path.parent / header.payload
    if not payload.is_file():
        raise SourceError(f"{payload}: profile payload missing", hint="keep it beside the JSON")
    _check_payload(payload, header)
    columns = {}
    for name, column in header.columns.items():
        columns[name] = ColumnProfile(
            name=name,
            kind=column.kind,
            role=column.role,
            n_rows=column.n_rows,
            nonfinite=NonFinite(**column.nonfinite.model_dump()),
            n_finite=column.n_finite,
            mean=column.mean,
            std=column.std,
            minimum=column.min,
            maximum=column.max,
            quantiles=dict(column.quantiles),
            n_distinct=column.n_distinct,
            sampled=column.sampled,
            categories=dict(column.categories),
        )
    return Profile(
        columns=columns,
        n_rows=header.n_rows,
        source=header.source,
        target=header.target,
        prediction=header.prediction,
        reference_metrics=dict(header.reference_metrics),
        created_at=header.created_at,
        payload_path=payload,
    )


def _check_payload(payload: Path, header: ProfileHeader) -> None:
    """Every numerical column's arrays are in the ``.npz`` with the right dtype and length,
    and the file is the one the header was written with (``payload_sha256``).

    Reads only the zip directory and each array's ``.npy`` header, not the values.
    """
    problems: list[str] = []
    try:
        with zipfile.ZipFile(payload) as archive:
            members = {name.removesuffix(".npy"): name for name in archive.namelist()}
            for index, (name, column) in enumerate(header.columns.items()):
                if column.kind != "numerical":
                    continue
                for suffix, dtypes, required in (
                    ("values", _VALUE_DTYPES, True),
                    ("counts", _COUNT_DTYPES, False),
                ):
                    key = f"{index}.{suffix}"
                    if key not in members:
                        if required:
                            problems.append(f"{key}: missing (the {suffix} of column {name!r})")
                        continue
                    with archive.open(members[key]) as handle:
                        shape, dtype = _npy_header(handle)
                    if dtype not in dtypes:
                        expected = " or ".join(str(d) for d in dtypes)
                        problems.append(f"{key}: dtype {dtype}, expected {expected}")
                    elif shape != (column.n_distinct,):
                        problems.append(
                            f"{key}: shape {shape}, expected ({column.n_distinct},) "
                            f"(n_distinct of column {name!r})"
                        )
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise InvalidFile(
            str(payload), [f"(top level): not a readable .npz archive: {one_line(exc)}"]
        ) from exc
    if problems:
        raise InvalidFile(str(payload), problems)
    if file_digest(payload) != header.payload_sha256:
        raise InvalidFile(
            str(payload),
            [
                "(top level): content does not match payload_sha256 of the profile (truncated or "
                "replaced; rebuild the profile)"
            ],
        )


_VALUE_DTYPES = (np.dtype(np.float64),)
_COUNT_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))


def _npy_header(handle: IO[bytes]) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """Shape and dtype of one ``.npy`` member, from its header only."""
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    return tuple(shape), dtype
