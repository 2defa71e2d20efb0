"""Service-level objectives of the served model, and the golden requests that check its answers.

The ``slo`` section of the pipeline config names what users of ``/invocations`` are promised
(a share of requests not answered 5xx; a share answered under a latency threshold) over a
window (30 days by default). ``mlharness monitor render`` turns it into SLI recording rules,
error-budget rules and multi-window, multi-burn-rate alerts (the SRE workbook's set, as Sloth
and Pyrra generate it). The numbers both the config check and the renderer need live here,
once: the latency histogram's bucket bounds (the scoring server builds its histogram from
:data:`LATENCY_BUCKETS_S`, so a threshold is checked against the bounds it really exports)
and the table of burn-rate alerts.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "BURN_RATE_ALERTS",
    "INPUT_EXAMPLE",
    "LATENCY_BUCKETS_S",
    "LATENCY_HISTOGRAM",
    "MAX_BURN_FACTOR",
    "AvailabilityObjective",
    "BurnRateAlert",
    "GoldenRequest",
    "GoldenRequests",
    "LatencyObjective",
    "SLOConfig",
    "nearest_bounds",
]

# The bucket bounds (seconds) of the scoring server's request-duration histogram. A latency
# SLI counts the requests under one bound (``le``), so a threshold must be one of these.
LATENCY_BUCKETS_S: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
LATENCY_HISTOGRAM = "mlharness_http_request_duration_seconds"
# The golden probe made of the champion's logged input example.
INPUT_EXAMPLE = "input_example"
# The request formats MLflow's scoring protocol accepts (a body holds exactly one of them).
_REQUEST_FORMATS = frozenset({"dataframe_split", "dataframe_records", "instances", "inputs"})


@dataclass(frozen=True)
class BurnRateAlert:
    """One multi-window burn-rate alert: it fires when the error ratio over both windows is
    above ``factor`` times the error budget. The windows are fractions of the SLO window
    (as Pyrra scales them), so a 30-day window gives the SRE workbook's 1h/5m ... 3d/6h."""

    name: str  # the alert name's suffix: Availability<name>, Latency<name>
    severity: Literal["page", "ticket"]
    factor: float
    long_divisor: int  # long window = SLO window / long_divisor
    short_divisor: int  # short window = SLO window / short_divisor

    def long_s(self, window_s: int) -> int:
        return max(1, round(window_s / self.long_divisor))

    def short_s(self, window_s: int) -> int:
        return max(1, round(window_s / self.short_divisor))

    def budget_share(self) -> float:
        """The share of the whole budget spent when this burn lasts its long window."""
        return self.factor / self.long_divisor


# The SRE workbook's table (chapter "Alerting on SLOs"), for a 30-day window: page at 14.4x
# over 1h (2% of the budget) and 6x over 6h (5%); ticket at 3x over 1d (10%) and 1x over 3d.
BURN_RATE_ALERTS: tuple[BurnRateAlert, ...] = (
    BurnRateAlert("FastBurnPage", "page", 14.4, 720, 8640),  # 1h / 5m
    BurnRateAlert("SlowBurnPage", "page", 6.0, 120, 1440),  # 6h / 30m
    BurnRateAlert("FastBurnTicket", "ticket", 3.0, 30, 360),  # 1d / 2h
    BurnRateAlert("SlowBurnTicket", "ticket", 1.0, 10, 120),  # 3d / 6h
)
MAX_BURN_FACTOR = max(a.factor for a in BURN_RATE_ALERTS)


def nearest_bounds(value: float, bounds: tuple[float, ...] = LATENCY_BUCKETS_S) -> list[float]:
    """The bucket bounds just below and just above ``value`` (one at either end)."""
    position = bisect.bisect_left(bounds, value)
    return list(bounds[max(0, position - 1) : position + 1])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_objective(percent: float) -> float:
    """An objective whose budget is too large for the fastest burn to ever fire is refused:
    a 14.4x burn of a 10% budget would need 144% of requests to fail."""
    budget = 1 - percent / 100
    if budget * MAX_BURN_FACTOR >= 1:
        floor = 100 - 100 / MAX_BURN_FACTOR
        raise ValueError(
            f"an objective of {percent:g}% leaves an error budget of {budget * 100:g}%: the "
            f"{MAX_BURN_FACTOR:g}x page would need more than 100% errors and could never fire; "
            f"use an objective above {floor:.2f}%"
        )
    return percent


class AvailabilityObjective(_Strict):
    """The share of ``/invocations`` requests not answered with a 5xx status."""

    objective_percent: float = Field(99.5, gt=0, lt=100, description="e.g. 99.5 (percent).")

    _objective = field_validator("objective_percent")(_check_objective)


class LatencyObjective(_Strict):
    """The share of ``/invocations`` requests answered within ``threshold_s``."""

    objective_percent: float = Field(99.0, gt=0, lt=100, description="e.g. 99 (percent).")
    threshold_s: float = Field(
        0.25, gt=0, description="A bucket bound of the request-duration histogram (seconds)."
    )

    _objective = field_validator("objective_percent")(_check_objective)

    @field_validator("threshold_s")
    @classmethod
    def _a_bucket_bound(cls, value: float) -> float:
        if value in LATENCY_BUCKETS_S:
            return value
        near = " and ".join(f"{b:g}" for b in nearest_bounds(value))
        raise ValueError(
            f"{value:g} s is not a bucket bound of {LATENCY_HISTOGRAM}, so no SLI can count the "
            f"requests under it; the nearest bounds are {near}"
        )


class SLOConfig(_Strict):
    """Objectives of the scoring endpoint and the window their error budget spans."""

    window_days: float = Field(
        30.0, gt=0, le=366, description="The SLO window; burn-rate windows scale with it."
    )
    availability: AvailabilityObjective | None = Field(
        default_factory=AvailabilityObjective, description="null: no availability objective."
    )
    latency: LatencyObjective | None = Field(
        default_factory=LatencyObjective, description="null: no latency objective."
    )

    @property
    def window_s(self) -> int:
        return round(self.window_days * 86400)

    def shortest_window_s(self) -> int:
        return min(a.short_s(self.window_s) for a in BURN_RATE_ALERTS)

    def window_problems(self, scrape_interval_s: int) -> list[str]:
        """The shortest burn-rate window must hold four scrapes, or the rate behind the fast
        page has too few samples to mean anything."""
        shortest = self.shortest_window_s()
        needed = 4 * scrape_interval_s
        if shortest >= needed:
            return []
        days = needed * (self.window_s / shortest) / 86400
        return [
            f"slo.window_days: {self.window_days:g} days makes the shortest burn-rate window "
            f"{shortest} s, under 4 scrape intervals ({needed} s); use at least {days:.4g} days "
            "or a shorter monitoring.scrape_interval_s"
        ]

    def objectives(self) -> dict[str, AvailabilityObjective | LatencyObjective]:
        """The configured objectives by SLI name (``availability``, ``latency``)."""
        found: dict[str, AvailabilityObjective | LatencyObjective] = {}
        if self.availability is not None:
            found["availability"] = self.availability
        if self.latency is not None:
            found["latency"] = self.latency
        return found


GoldenName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=40)]


class GoldenRequest(_Strict):
    """One request body for ``/invocations`` and the predictions it must come back with."""

    name: GoldenName
    body: dict[str, Any] = Field(
        description="The JSON body, e.g. {dataframe_split: {columns: [...], data: [[...]]}}."
    )
    expected: list[Any] | None = Field(
        None,
        description="The predictions the answer holds; null: the promoted model's own answer, "
        "written by the promote task.",
    )

    @field_validator("body")
    @classmethod
    def _one_format(cls, body: dict[str, Any]) -> dict[str, Any]:
        formats = sorted(_REQUEST_FORMATS & set(body))
        if len(formats) != 1:
            found = f" (found {', '.join(formats)})" if formats else ""
            raise ValueError(
                "a body holds exactly one of " + ", ".join(sorted(_REQUEST_FORMATS)) + found
            )
        return body


class GoldenRequests(_Strict):
    """Golden requests the blackbox exporter POSTs to ``/invocations``, checking the answer."""

    requests: list[GoldenRequest] = Field(default_factory=list)
    from_input_example: bool = Field(
        False,
        description="Also probe with the champion's logged input example; its expected answer "
        "is the champion's prediction, written by the promote task.",
    )
    stack_dir: str | None = Field(
        None,
        description="The rendered monitoring stack as the promote task sees it (absolute, or "
        "relative to its working directory; env MLHARNESS_MONITORING_STACK wins): the task "
        "writes the promoted model's answers into its blackbox.yml and reloads the exporter. "
        "null: the task leaves the probes alone.",
    )

    @model_validator(mode="after")
    def _unique_names(self) -> GoldenRequests:
        names = [r.name for r in self.requests]
        if self.from_input_example:
            names.append(INPUT_EXAMPLE)
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            note = f" ({INPUT_EXAMPLE!r} is the input example's)" if self.from_input_example else ""
            raise ValueError(f"golden request names must be unique: {', '.join(duplicates)}{note}")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.requests) or self.from_input_example

    def names(self) -> list[str]:
        """Every probe's name, the input example's last."""
        extra = [INPUT_EXAMPLE] if self.from_input_example else []
        return [r.name for r in self.requests] + extra
