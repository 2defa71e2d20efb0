"""The JSON drift report: one schema-versioned document for pipelines and dashboards.

Strict JSON: non-finite numbers (an infinite chi-square statistic when a category was
never seen in the reference) are written as the strings "inf", "-inf" or "nan".
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from harness.kernel.atomic import write_text_atomic
from monitoring.engine import DriftResult

SCHEMA_VERSION = 1
MAX_WINDOWS = 200


def to_dict(result: DriftResult) -> dict[str, Any]:
    """The report as plain JSON-ready data."""
    data = dataclasses.asdict(result)
    concept = data.get("concept")
    if concept and len(concept["windows"]) > MAX_WINDOWS:
        concept["windows_truncated"] = len(concept["windows"]) - MAX_WINDOWS
        concept["windows"] = concept["windows"][:MAX_WINDOWS]
    body = {"schema_version": SCHEMA_VERSION, "kind": "mlharness.drift_report", **data}
    cleaned: dict[str, Any] = _clean(body)
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


def dumps(report: dict[str, Any]) -> str:
    """The report (from ``to_dict``) as strict JSON text."""
    return json.dumps(report, indent=1, allow_nan=False)


def write_json(report: dict[str, Any], path: str | Path) -> Path:
    """Write the report (from ``to_dict``) atomically."""
    return write_text_atomic(Path(path), dumps(report) + "\n")
