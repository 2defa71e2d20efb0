"""The recording rules, as data: one per dashboard query, named ``level:metric:operation``.

The dashboard reads only these recorded series, so a panel is as cheap as a lookup and
its query is tested where the rules are (``promtool check rules``); the names follow
Prometheus' recording-rule convention (colons only here, never in exported metrics).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitoring.stack.settings import JOB_BLACKBOX, JOB_MLFLOW, StackSettings

__all__ = ["QUANTILES", "RecordingRule", "recording_rules"]

QUANTILES = ("0.5", "0.9", "0.99")


@dataclass(frozen=True)
class RecordingRule:
    """``record: name`` with ``expr`` and optional extra labels."""

    record: str
    expr: str
    labels: dict[str, str] = field(default_factory=dict)


def recording_rules(s: StackSettings) -> list[RecordingRule]:
    """Every series the dashboard shows, computed once per evaluation."""
    w = s.rate_window
    job = s.scoring
    inv = f'{job},route="/invocations"'
    rules = [
        RecordingRule(
            "route_status:mlharness_http_requests:rate",
            f"sum by (route, status) (rate(mlharness_http_requests_total{{{job}}}[{w}]))",
        ),
        *(
            RecordingRule(
                "mlharness:http_request_duration_seconds:quantile",
                f"histogram_quantile({q}, sum by (le) "
                f"(rate(mlharness_http_request_duration_seconds_bucket{{{inv}}}[{w}])))",
                {"quantile": q},
            )
            for q in QUANTILES
        ),
        RecordingRule(
            "mlharness:http_errors:ratio",
            # No 5xx series yet is a ratio of 0 (while there is traffic), not a gap.
            f'(sum(rate(mlharness_http_requests_total{{{inv},status=~"5.."}}[{w}])) or vector(0))'
            f" / sum(rate(mlharness_http_requests_total{{{inv}}}[{w}]))",
        ),
        RecordingRule(
            "mlharness:predictions:rate",
            f"sum(rate(mlharness_predictions_total{{{job}}}[{w}]))",
        ),
        RecordingRule(
            "class:mlharness_predicted_class:rate",
            f"sum by (class) (rate(mlharness_predicted_class_total{{{job}}}[{w}]))",
        ),
        RecordingRule(
            "mlharness:batch_rows:mean",
            f"sum(rate(mlharness_batch_rows_sum{{{job}}}[{w}])) / "
            f"sum(rate(mlharness_batch_rows_count{{{job}}}[{w}]))",
        ),
        RecordingRule("mlharness:queue_rows:sum", f"sum(mlharness_queue_rows{{{job}}})"),
        RecordingRule(
            "mlharness:queue:saturation",
            f"sum(mlharness_queue_rows{{{job}}}) / sum(mlharness_queue_capacity_rows{{{job}}})",
        ),
        RecordingRule(
            "feature_method:mlharness_online_drift_score:max",
            f"max by (feature, method) (mlharness_online_drift_score{{{job}}})",
        ),
        RecordingRule(
            "dataset_column:mlharness_drift_score:max",
            "max by (dataset, column, method) (mlharness_drift_score)",
        ),
        RecordingRule(
            "dataset:mlharness_dataset_drift_share:max",
            "max by (dataset) (mlharness_dataset_drift_share)",
        ),
        RecordingRule(
            "mlharness:drift_check_age:seconds",
            "time() - max(mlharness_drift_last_success_timestamp_seconds)",
        ),
        RecordingRule(
            "name_version:mlharness_model_info:max",
            f"max by (name, version, alias) (mlharness_model_info{{{job}}})",
        ),
        RecordingRule(
            "mlharness:model_reload_failures:increase",
            f"sum(increase(mlharness_model_reload_failures_total{{{job}}}[{s.event_window}]))",
        ),
        RecordingRule(
            "service:probe_success:min",
            f'min by (service) (probe_success{{job="{JOB_BLACKBOX}"}})',
        ),
        RecordingRule(
            "status:mlflow_http_request:rate",
            f'sum by (status) (rate(mlflow_http_request_total{{job="{JOB_MLFLOW}"}}[{w}]))',
        ),
    ]
    return rules
