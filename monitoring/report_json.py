"""The JSON drift report: one schema-versioned document for pipelines and dashboards.

Strict JSON: non-finite numbers (an infinite chi-square statistic when a category was
never seen in the reference) are written as the strings "inf", "-inf" or "nan". Its shape
is declared once, as :class:`monitoring.schemas.DriftReport`; :func:`load` reads a report
back validated against it.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from harness.kernel.atomic import write_text_atomic
from harness.kernel.errors import SourceError
from harness.schemas.validation import InvalidFile, one_line, validate
from monitoring.drift import DriftResult
from monitoring.schemas import REPORT_KIND, REPORT_SCHEMA_VERSION, DriftReport

__all__ = ["MAX_WINDOWS", "SCHEMA_VERSION", "dumps", "load", "to_dict", "write_json"]

SCHEMA_VERSION = REPORT_SCHEMA_VERSION
MAX_WINDOWS = 200


def to_dict(result: DriftResult) -> dict[str, object]:
    """The report as plain JSON-ready data."""
    data = dataclasses.asdict(result)
    for column in data["columns"]:
        column["plot"] = column["plot"] or {}  # schema 1 writes {} for "no plot"
    concept = data.get("concept")
    if concept and len(concept["windows"]) > MAX_WINDOWS:
        concept["windows_truncated"] = len(concept["windows"]) - MAX_WINDOWS
        concept["windows"] = concept["windows"][:MAX_WINDOWS]
    body = {"schema_version": SCHEMA_VERSION, "kind": REPORT_KIND, **data}
    cleaned: dict[str, object] = _clean(body)
    return cleaned


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return _clean(value.item())
    return value


def dumps(report: dict[str, object]) -> str:
    """The report (from ``to_dict``) as strict JSON text."""
    return json.dumps(report, indent=1, allow_nan=False)


def write_json(report: dict[str, object], path: str | Path) -> Path:
    """Write the report (from ``to_dict``) atomically."""
    return write_text_atomic(Path(path), dumps(report) + "\n")


def load(path: str | Path) -> DriftReport:
    """A drift report read back (a DAG task, a dashboard job), every problem at once."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SourceError(f"{path}: cannot read the drift report: {one_line(exc)}") from exc
    except ValueError as exc:
        raise InvalidFile(str(path), [f"(top level): not JSON: {one_line(exc)}"]) from exc
    return validate(DriftReport, data, str(path), error=InvalidFile)
