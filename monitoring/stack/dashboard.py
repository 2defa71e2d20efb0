"""The model dashboard as Grafana JSON, pinned to one dashboard schema version.

Grafana migrates older dashboard JSON on load and rewrites it on save; pinning
``schemaVersion`` (39: Grafana 10.4 / 11.0, the image the compose file runs) means the
file we test is the file Grafana reads unchanged. Every panel queries a recording rule
from :mod:`monitoring.stack.rules`, so a panel's query is tested with the rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.schemas.slo import BURN_RATE_ALERTS
from monitoring.stack.alert_types import number
from monitoring.stack.settings import StackSettings, duration

__all__ = [
    "DATASOURCE_UID",
    "GRAFANA_IMAGE",
    "SCHEMA_VERSION",
    "Panel",
    "dashboard_json",
    "panels",
    "slo_panels",
]

SCHEMA_VERSION = 39
SLO_ROW = "Service level objectives"
GRAFANA_IMAGE = "grafana/grafana-oss:10.4.2"
DATASOURCE_UID = "mlharness-prometheus"
JSONValue = str | int | float | bool | None | list["JSONValue"] | dict[str, "JSONValue"]


@dataclass(frozen=True)
class Panel:
    """One panel: title, kind, unit and its (expression, legend) targets."""

    title: str
    kind: str  # timeseries | stat | table
    unit: str
    targets: tuple[tuple[str, str], ...]
    description: str


def panels(s: StackSettings) -> list[Panel]:
    """The panels, top to bottom: traffic, latency, errors, batching, queue, drift, model."""
    return [
        Panel(
            "Traffic",
            "timeseries",
            "reqps",
            (("route_status:mlharness_http_requests:rate", "{{route}} {{status}}"),),
            "Requests per second by route and status.",
        ),
        Panel(
            "Predictions",
            "timeseries",
            "short",
            (
                ("mlharness:predictions:rate", "rows/s"),
                ("class:mlharness_predicted_class:rate", "class {{class}}"),
            ),
            "Rows predicted per second, and per class for classifiers.",
        ),
        Panel(
            "Latency quantiles (/invocations)",
            "timeseries",
            "s",
            (("mlharness:http_request_duration_seconds:quantile", "p{{quantile}}"),),
            f"Alert HighP99Latency above {s.p99_latency_s} s.",
        ),
        Panel(
            "Error ratio (5xx)",
            "timeseries",
            "percentunit",
            (("mlharness:http_errors:ratio", "5xx share"),),
            f"Alert HighErrorRatio above {s.error_ratio}.",
        ),
        Panel(
            "Batch rows",
            "timeseries",
            "short",
            (("mlharness:batch_rows:mean", "mean rows per predict call"),),
            "Rows per predict call after adaptive batching.",
        ),
        Panel(
            "Queue depth",
            "timeseries",
            "short",
            (
                ("mlharness:queue_rows:sum", "rows waiting"),
                ("mlharness:queue:saturation", "share of capacity"),
            ),
            f"Alert QueueSaturated above {s.queue_saturation} of capacity.",
        ),
        Panel(
            "Online drift per feature",
            "timeseries",
            "short",
            (("feature_method:mlharness_online_drift_score:max", "{{feature}} ({{method}})"),),
            f"Alert FeatureDrift above {s.feature_drift_score}.",
        ),
        Panel(
            "Batch drift per feature",
            "timeseries",
            "short",
            (
                ("dataset_column:mlharness_drift_score:max", "{{dataset}} {{column}} ({{method}})"),
                ("dataset:mlharness_dataset_drift_share:max", "{{dataset}} drifting share"),
            ),
            f"Alert DatasetDrift at a share of {s.dataset_drift_share}.",
        ),
        Panel(
            "Drift check age",
            "stat",
            "s",
            (("mlharness:drift_check_age:seconds", "age"),),
            f"Alert DriftCheckStale above {s.drift_check_max_age_s} s.",
        ),
        Panel(
            "Model version",
            "table",
            "none",
            (("name_version:mlharness_model_info:max", "{{name}} v{{version}} @{{alias}}"),),
            "The version being served (ModelVersionChanged when it switches).",
        ),
        Panel(
            "Model reload failures",
            "stat",
            "short",
            (("mlharness:model_reload_failures:increase", "failures"),),
            "New versions that failed to load (ModelReloadFailed).",
        ),
        Panel(
            "Endpoints up",
            "stat",
            "none",
            (("service:probe_success:min", "{{service}}"),),
            "Blackbox probes: 1 up, 0 down (EndpointDown).",
        ),
        Panel(
            "MLflow server requests",
            "timeseries",
            "reqps",
            (("status:mlflow_http_request:rate", "{{status}}"),),
            "Tracking server requests by status (mlflow server --expose-prometheus).",
        ),
    ]


def _grid(panel_id: int) -> dict[str, JSONValue]:
    """Two panels a row, 8 high, in id order."""
    return {"h": 8, "w": 12, "x": 0 if panel_id % 2 == 1 else 12, "y": ((panel_id - 1) // 2) * 8}


def _panel_json(
    panel: Panel, panel_id: int, grid: dict[str, JSONValue] | None = None
) -> dict[str, JSONValue]:
    datasource: dict[str, JSONValue] = {"type": "prometheus", "uid": DATASOURCE_UID}
    targets: list[JSONValue] = [
        {
            "datasource": datasource,
            "expr": expr,
            "legendFormat": legend,
            "refId": chr(ord("A") + n),
        }
        for n, (expr, legend) in enumerate(panel.targets)
    ]
    return {
        "datasource": datasource,
        "description": panel.description,
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "gridPos": grid or _grid(panel_id),
        "id": panel_id,
        "options": {},
        "targets": targets,
        "title": panel.title,
        "type": panel.kind,
    }


def _slo_row(s: StackSettings, first_id: int) -> list[JSONValue]:
    """A row header and the SLO panels side by side under the other panels."""
    slo = slo_panels(s)
    if not slo:
        return []
    y = (first_id // 2) * 8  # under the last pair of panels
    row: dict[str, JSONValue] = {
        "collapsed": False,
        "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
        "id": first_id,
        "panels": [],
        "title": SLO_ROW,
        "type": "row",
    }
    width = 24 // len(slo)
    return [
        row,
        *(
            _panel_json(p, first_id + 1 + k, {"h": 8, "w": width, "x": k * width, "y": y + 1})
            for k, p in enumerate(slo)
        ),
    ]


def dashboard_json(s: StackSettings) -> dict[str, JSONValue]:
    """The whole dashboard; deterministic (no timestamps, ids by position)."""
    regular = panels(s)
    return {
        "annotations": {"list": []},
        "editable": True,
        "graphTooltip": 1,
        "id": None,
        "links": [],
        "panels": [
            *(_panel_json(p, n) for n, p in enumerate(regular, start=1)),
            *_slo_row(s, len(regular) + 1),
        ],
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["mlharness", s.pipeline],
        "templating": {"list": []},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "utc",
        "title": f"mlharness: {s.model} ({s.pipeline})",
        "uid": f"mlharness-{s.pipeline}"[:40],
        "version": 1,
    }


def slo_panels(s: StackSettings) -> list[Panel]:
    """The dashboard's SLO row: budget remaining, burn rate, SLI against the objective."""
    slo = s.slo
    if slo is None:
        return []
    fast = BURN_RATE_ALERTS[0]
    long_w = duration(slo.long_s(fast))
    return [
        Panel(
            f"Error budget remaining ({slo.window})",
            "stat",
            "percentunit",
            (("slo:error_budget_remaining:ratio", "{{slo}}"),),
            f"1 - (bad share over {slo.window}) / (1 - objective). Below 0: the SLO is missed.",
        ),
        Panel(
            "Burn rate",
            "timeseries",
            "short",
            (("slo:burn_rate:ratio", "{{slo}} ({{window}})"),),
            f"Bad share / error budget. 1: the budget lasts exactly {slo.window}; pages at "
            f"{number(fast.factor)} over {long_w}.",
        ),
        Panel(
            f"SLI ({long_w})",
            "timeseries",
            "percentunit",
            (
                ("slo:sli:ratio", "{{slo}}"),
                ("slo:objective:ratio", "{{slo}} objective"),
            ),
            "Share of good /invocations requests against the objective.",
        ),
    ]
