"""Alerts, recording rules and the dashboard as data: every number comes from the config."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.kernel.errors import ConfigError
from harness.schemas.pipeline_config import PipelineConfig
from monitoring.stack.alerts import SEVERITIES, alerts_for, expand_labels, number
from monitoring.stack.dashboard import SCHEMA_VERSION, dashboard_json
from monitoring.stack.promql import is_known, metric_names
from monitoring.stack.rules import recording_rules
from monitoring.stack.settings import StackSettings, duration, settings_from_config

NAMES = [
    "EndpointDown",
    "HighP99Latency",
    "HighErrorRatio",
    "QueueSaturated",
    "ModelReloadFailed",
    "FeatureDrift",
    "DatasetDrift",
    "DriftCheckStale",
    "NoTraffic",
    "ModelVersionChanged",
]
# Freshness and meta-monitoring, always rendered.
META = ["ModelStale", "Watchdog", "ScrapeJobAbsent", "DriftMetricsAbsent"]


def settings(**monitoring: object) -> StackSettings:
    config = PipelineConfig.model_validate(
        {
            "name": "p",
            "project": {"path": "."},
            "steps": [{"name": "train"}],
            "model": {"name": "m"},
            "monitoring": monitoring,
        }
    )
    return settings_from_config(config, "pipeline.yaml")


def test_the_alerts_follow_the_conventions() -> None:
    s = settings(alert_for_s=120)
    alerts = alerts_for(s)
    assert [a.name for a in alerts] == NAMES + META
    for alert in alerts:
        assert alert.severity in SEVERITIES
        if alert.name != "Watchdog":
            assert alert.for_s == 120 and alert.for_ == "2m"
            assert alert.quiet is not None and not alert.quiet.fires
        assert alert.summary and alert.description and alert.runbook
        assert alert.annotations("README.md")["runbook_url"] == f"README.md#{alert.name.lower()}"
        assert alert.firing.fires
        assert "pipeline" in alert.rule_labels()
    severities = {a.name: a.severity for a in alerts}
    assert severities["EndpointDown"] == "critical"
    assert severities["ModelVersionChanged"] == "info"


def test_thresholds_and_windows_come_from_the_config() -> None:
    s = settings(
        scrape_interval_s=30,
        thresholds={
            "p99_latency_s": 0.75,
            "error_ratio": 0.02,
            "queue_saturation": 0.9,
            "feature_drift_score": 0.3,
            "dataset_drift_share": 0.6,
            "drift_check_max_age_s": 3600,
            "no_traffic_minutes": 7,
        },
        features=["age", "income.k"],
    )
    exprs = {a.name: a.expr for a in alerts_for(s)}
    assert exprs["HighP99Latency"].endswith("[2m]))) > 0.75")  # rate window: 4 scrapes
    assert exprs["HighErrorRatio"].endswith(">= 0.02")
    assert exprs["QueueSaturated"].endswith(">= 0.9")
    assert exprs["FeatureDrift"].endswith("> 0.3")
    assert 'feature=~"age|income\\\\.k"' in exprs["FeatureDrift"]  # regex, then string escape
    assert exprs["DatasetDrift"].endswith(">= 0.6")
    assert exprs["DriftCheckStale"].endswith("> 3600")
    # The last success counts for 2 x age + for after its series went stale.
    assert (
        "max_over_time(mlharness_drift_last_success_timestamp_seconds[125m])"
        in (exprs["DriftCheckStale"])
    )
    assert "[7m]" in exprs["NoTraffic"]
    default = {a.name: a.expr for a in alerts_for(settings())}
    assert all(default[name] != exprs[name] for name in NAMES if name != "EndpointDown")
    stale = {a.name: a.expr for a in alerts_for(settings(thresholds={"model_max_age_s": 86400}))}
    assert stale["ModelStale"].endswith("> 86400")


def test_every_expression_reads_only_exported_or_recorded_metrics() -> None:
    s = settings()
    rules = recording_rules(s)
    recorded = frozenset(r.record for r in rules)
    for expr in [a.expr for a in alerts_for(s)] + [r.expr for r in rules]:
        for name in metric_names(expr):
            assert is_known(name), (name, expr)
    board = dashboard_json(s)
    assert board["schemaVersion"] == SCHEMA_VERSION
    panels = board["panels"]
    assert isinstance(panels, list) and len(panels) >= 10
    for panel in panels:
        assert isinstance(panel, dict)
        for target in panel["targets"]:  # type: ignore[union-attr]
            assert isinstance(target, dict)
            # Every panel reads a recording rule, so its query is tested with the rules.
            assert metric_names(str(target["expr"])) <= recorded


def test_address_problems_are_reported_all_at_once_with_key_paths() -> None:
    with pytest.raises(ConfigError) as caught:
        settings(
            serving_url="scoring:5001",
            alertmanager_url="ftp://am",
            blackbox_url="http://blackbox:notaport",
            features=['bad"name'],
        )
    problems = caught.value.problems
    assert len(problems) == 4
    assert any(p.startswith("monitoring.serving_url:") for p in problems)
    assert any(p.startswith("monitoring.alertmanager_url:") for p in problems)
    assert any(p.startswith("monitoring.blackbox_url:") for p in problems)
    assert any(p.startswith("monitoring.features[0]:") for p in problems)


def test_service_addresses_default_to_the_compose_services() -> None:
    s = settings()
    assert s.serving.url == "http://scoring:5001"
    assert s.mlflow is not None and s.mlflow.url == "http://mlflow:5000"
    assert s.pushgateway.address == "pushgateway:9091"
    assert settings(mlflow_url="").mlflow is None  # "": no MLflow server to scrape
    config = PipelineConfig.model_validate(
        {
            "name": "p",
            "project": {"path": "."},
            "steps": [{"name": "t"}],
            "model": {"name": "m"},
            "tracking_uri": "https://tracking.example:8443/mlflow",
        }
    )
    found = settings_from_config(config, "x").mlflow
    assert found is not None and found.address == "tracking.example:8443"
    assert found.url == "https://tracking.example:8443/mlflow"


def test_small_helpers(tmp_path: Path) -> None:
    assert [duration(s) for s in (1, 60, 90, 3600, 172800)] == ["1s", "1m", "90s", "1h", "2d"]
    assert [number(x) for x in (0.5, 2.0, 1e-05, 0.1 * 3)] == [
        "0.5",
        "2",
        "1e-05",
        "0.30000000000000004",
    ]
    labels = {"feature": "age"}
    assert expand_labels("{{ $labels.feature }} / {{$labels.missing}}.", labels) == "age / ."
