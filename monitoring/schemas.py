"""The declared shape of the two files the drift check writes and reads back.

* :class:`ProfileHeader` - ``profile.json``, the readable half of a reference profile.
* :class:`DriftReport` - the JSON drift report (``monitor drift -o``, the DAG's XCom).

Both are pydantic models with ``extra="forbid"`` and strict types, validated with
:func:`harness.schemas.validation.validate`, so a hand-edited or foreign file is refused with
every problem and its key path (``columns.age.kind: ...``) instead of failing somewhere
inside the engine. The writers (``profile.save_profile``, ``report_json.to_dict``) keep
producing plain dicts, byte for byte as before; the unit tests check that what they
write validates.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, NonNegativeFloat, NonNegativeInt, PlainValidator

__all__ = [
    "PROFILE_KIND",
    "PROFILE_SCHEMA_VERSION",
    "REPORT_KIND",
    "REPORT_SCHEMA_VERSION",
    "CategoricalStatsModel",
    "ColumnHeader",
    "ColumnReport",
    "ConceptReport",
    "DetectionModel",
    "DriftReport",
    "JsonFloat",
    "NonFiniteCounts",
    "NumericStatsModel",
    "ProfileHeader",
]

PROFILE_KIND = "mlharness.drift_profile"
PROFILE_SCHEMA_VERSION = 1
REPORT_KIND = "mlharness.drift_report"
REPORT_SCHEMA_VERSION = 1

# Strict JSON has no infinities: the report writes them as these strings.
_NONFINITE_TEXT = {"inf", "-inf", "nan"}


def _json_float(value: object) -> float | str:
    """A number, or one of the strings the report writes for a non-finite number.

    A plain validator rather than a union, so an error names the key and nothing else.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("a non-finite number must be written as 'inf', '-inf' or 'nan'")
        return value
    if isinstance(value, str) and value in _NONFINITE_TEXT:
        return value
    raise ValueError("expected a number (or 'inf', '-inf', 'nan')")


def _plot_value(value: object) -> float | str:
    if isinstance(value, str):
        return value
    return _json_float(value)


JsonFloat = Annotated[float | str, PlainValidator(_json_float)]
PlotValue = Annotated[float | str, PlainValidator(_plot_value)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NonFiniteCounts(_Strict):
    """Values excluded from the statistics of one column."""

    missing: NonNegativeInt
    pos_inf: NonNegativeInt
    neg_inf: NonNegativeInt


# -- profile.json ------------------------------------------------------------------------------
class ColumnHeader(_Strict):
    """One column of the reference profile."""

    kind: Literal["numerical", "categorical"]
    role: Literal["feature", "target", "prediction"]
    n_rows: NonNegativeInt
    nonfinite: NonFiniteCounts
    n_finite: NonNegativeInt
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None
    quantiles: dict[str, float] = {}
    n_distinct: NonNegativeInt = 0
    sampled: bool = False
    categories: dict[str, NonNegativeInt] = {}


class ProfileHeader(_Strict):
    """``profile.json``: roles, per-column summaries and where the exact payload is."""

    schema_version: Literal[1]
    kind: Literal["mlharness.drift_profile"]
    created_at: str
    source: str
    n_rows: NonNegativeInt
    target: str | None
    prediction: str | None
    reference_metrics: dict[str, float]
    columns: dict[str, ColumnHeader]
    payload: str
    payload_sha256: str


# -- the drift report ----------------------------------------------------------------------------
class NumericStatsModel(_Strict):
    """Every numerical statistic of one column (``stats_numeric.NumericStats``)."""

    n_reference: NonNegativeInt
    n_current: NonNegativeInt
    ks_statistic: JsonFloat | None
    ks_pvalue: JsonFloat | None
    wasserstein: JsonFloat | None
    wasserstein_normed: JsonFloat | None
    psi: JsonFloat | None
    current_mean: JsonFloat | None
    current_std: JsonFloat | None
    mean_shift: JsonFloat | None
    std_ratio: JsonFloat | None
    ks_pvalue_note: str | None = None


class CategoryShiftModel(_Strict):
    """How one category's share moved."""

    category: str
    reference_share: float
    current_share: float
    shift: float
    unseen: bool


class CategoricalStatsModel(_Strict):
    """Every categorical statistic of one column (``stats_categorical.CategoricalStats``)."""

    n_reference: NonNegativeInt
    n_current: NonNegativeInt
    chi2_statistic: JsonFloat | None
    chi2_pvalue: JsonFloat | None
    js_distance: JsonFloat | None
    n_categories: NonNegativeInt
    unseen_categories: NonNegativeInt
    unseen_share: JsonFloat | None
    shifts: list[CategoryShiftModel] = []


class ColumnReport(_Strict):
    """The verdict and statistics of one column (``engine.ColumnResult``)."""

    name: str
    kind: Literal["numerical", "categorical"]
    role: Literal["feature", "target", "prediction"]
    method: str
    threshold: float
    score: JsonFloat | None
    drift: bool
    status: Literal["ok", "empty"]
    reason: str | None
    nonfinite_reference: NonFiniteCounts
    nonfinite_current: NonFiniteCounts
    nonfinite_share_reference: NonNegativeFloat
    nonfinite_share_current: NonNegativeFloat
    nonfinite_shift: bool
    numeric: NumericStatsModel | None = None
    categorical: CategoricalStatsModel | None = None
    plot: dict[str, list[PlotValue]] = {}


class DetectionModel(_Strict):
    """Where a concept-drift detector fired (row index), or null."""

    drift_index: NonNegativeInt | None
    warning_index: NonNegativeInt | None = None


class WindowModel(_Strict):
    """The model's metric on one window of rows."""

    start: NonNegativeInt
    end: NonNegativeInt
    value: JsonFloat
    flagged: bool


class ConceptReport(_Strict):
    """Concept drift on the (prediction, label) stream (``concept.ConceptResult``)."""

    task: Literal["classification", "regression"]
    n: NonNegativeInt
    metric: str
    reference_value: JsonFloat | None
    current_value: JsonFloat | None
    ddm: DetectionModel | None
    page_hinkley: DetectionModel
    window: NonNegativeInt
    windows: list[WindowModel] = []
    windows_truncated: NonNegativeInt | None = None
    flagged_windows: NonNegativeInt = 0
    drift: bool = False


class DriftReport(_Strict):
    """The JSON drift report, as ``report_json.to_dict`` writes it."""

    schema_version: Literal[1]
    kind: Literal["mlharness.drift_report"]
    reference: str
    current: str
    n_reference: NonNegativeInt
    n_current: NonNegativeInt
    columns: list[ColumnReport]
    drift_share_threshold: float
    n_features: NonNegativeInt
    n_drifted_features: NonNegativeInt
    drift_share: float
    dataset_drift: bool
    label_drift: bool | None
    prediction_drift: bool | None
    concept: ConceptReport | None
    seconds: NonNegativeFloat
    created_at: float
    mlflow_run_id: str | None = None
