"""The rendered stack passes its own tools (promtool, amtool, the blackbox exporter,
docker-compose), and ``render --check`` catches what a hand edit breaks."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from monitoring.stack.operations import write_stack
from tests.support.harness_cli import mlharness

pytestmark = pytest.mark.functional

CONFIG = {
    "name": "rf_pipeline",
    "project": {"path": "."},
    "steps": [{"name": "train"}],
    "model": {"name": "rf-model"},
    "tracking_uri": "http://mlflow:5000",
    "monitoring": {
        "features": ["f0", "f1"],
        "alerts": {
            "slack_api_url_file": "/etc/alertmanager/secrets/slack_api_url",
            "webhook_url_file": "/etc/alertmanager/secrets/webhook_url",
        },
    },
}


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stack")
    config = root / "pipeline.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    write_stack(config, root / "out")
    return root / "out"


def test_prometheus_rules_and_their_generated_tests_pass_promtool(stack: Path) -> None:
    checked = run("promtool", "check", "config", "prometheus.yml", cwd=stack)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "4 rule files found" in checked.stdout
    rules = run(
        "promtool", "check", "rules", "alerts/mlharness-alerts.yml",
        "alerts/mlharness-slo-alerts.yml", "rules/mlharness-recording.yml",
        "rules/mlharness-slo.yml", cwd=stack,
    )  # fmt: skip
    assert rules.returncode == 0, rules.stdout + rules.stderr
    files = sorted(p.name for p in (stack / "tests").glob("*.yml"))
    tests = run("promtool", "test", "rules", *files, cwd=stack / "tests")
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert tests.stdout.count("SUCCESS") == 5


def test_alertmanager_routes_each_severity_to_its_receiver(stack: Path) -> None:
    checked = run("amtool", "check-config", "alertmanager.yml", cwd=stack)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "3 inhibit rules" in checked.stdout
    for severity in ("critical", "warning", "info"):
        routed = run(
            "amtool", "config", "routes", "test", "--config.file=alertmanager.yml",
            f"--verify.receivers=mlharness-{severity}", f"severity={severity}", "service=scoring",
            cwd=stack,
        )  # fmt: skip
        assert routed.returncode == 0, (severity, routed.stdout + routed.stderr)
    unrouted = run(
        "amtool", "config", "routes", "test", "--config.file=alertmanager.yml",
        "--verify.receivers=mlharness-default", "alertname=Other", cwd=stack,
    )  # fmt: skip
    assert unrouted.returncode == 0, unrouted.stdout + unrouted.stderr
    heartbeat = run(
        "amtool", "config", "routes", "test", "--config.file=alertmanager.yml",
        "--verify.receivers=mlharness-heartbeat", "alertname=Watchdog", "severity=info",
        cwd=stack,
    )  # fmt: skip
    assert heartbeat.returncode == 0, heartbeat.stdout + heartbeat.stderr
    am = yaml.safe_load((stack / "alertmanager.yml").read_text())
    by_severity, online, batch = am["inhibit_rules"]
    assert by_severity["source_matchers"] == ['severity="critical"']
    assert by_severity["target_matchers"] == ['severity="warning"']
    assert online["source_matchers"] == ['alertname="EndpointDown"', 'service="scoring"']
    assert online["target_matchers"] == [
        'alertname=~"FeatureDrift|DriftMetricsAbsent"',
        'source!="batch"',
    ]
    assert batch["source_matchers"] == ['alertname="EndpointDown"', 'service="pushgateway"']
    assert batch["target_matchers"] == [
        'alertname=~"DatasetDrift|DriftCheckStale|DriftMetricsAbsent"',
        'source!="online"',
    ]


def test_blackbox_config_and_compose_file_validate(stack: Path, tmp_path: Path) -> None:
    checked = run(
        "prometheus-blackbox-exporter", "--config.file=blackbox.yml", "--config.check", cwd=stack
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    copy = tmp_path / "stack"
    shutil.copytree(stack, copy)
    compose = ["docker-compose", "-f", "docker-compose.monitoring.yaml", "config", "-q"]
    without = run(*compose, cwd=copy)
    assert without.returncode != 0 and "GRAFANA_ADMIN_PASSWORD" in without.stderr
    (copy / ".env").write_text("GRAFANA_ADMIN_PASSWORD=not-inline\n")
    valid = run(*compose, cwd=copy)
    assert valid.returncode == 0, valid.stderr
    text = (copy / "docker-compose.monitoring.yaml").read_text()
    assert "not-inline" not in text and "--cluster.listen-address=" in text


def test_check_reports_every_broken_convention_of_a_hand_edited_stack(
    stack: Path, tmp_path: Path
) -> None:
    edited = tmp_path / "edited"
    shutil.copytree(stack, edited)
    alerts_file = edited / "alerts" / "mlharness-alerts.yml"
    alerts = yaml.safe_load(alerts_file.read_text())
    rules = {r["alert"]: r for r in alerts["groups"][0]["rules"]}
    rules["EndpointDown"]["labels"]["severity"] = "page"
    del rules["NoTraffic"]["annotations"]["runbook_url"]
    rules["QueueSaturated"]["annotations"]["runbook_url"] = "README.md#no-such-heading"
    del rules["DatasetDrift"]["for"]
    rules["HighErrorRatio"]["expr"] = rules["HighErrorRatio"]["expr"].replace(">= 0.05", ">= 2")
    rules["FeatureDrift"]["expr"] = "max(mlharness_feature_drift) > 0.1"
    alerts_file.write_text(yaml.safe_dump(alerts))
    tests_file = edited / "tests" / "mlharness-alerts.test.yml"
    tests = yaml.safe_load(tests_file.read_text())
    tests["tests"] = [t for t in tests["tests"] if t["name"] != "ModelVersionChanged stays quiet"]
    tests_file.write_text(yaml.safe_dump(tests))
    board_file = edited / "grafana" / "dashboards" / "mlharness-model.json"
    board = json.loads(board_file.read_text())
    board["schemaVersion"] = 36
    board["panels"][0]["targets"][0]["expr"] = "rate(flask_http_request_total[1m])"
    board["panels"][1]["targets"][0]["expr"] = "sum(rate(x[1m]) by"
    board_file.write_text(json.dumps(board))

    # One lint, through the command (it prints each problem of lint_stack on stderr and
    # exits 1 on any).
    done = mlharness(
        "monitor",
        "render",
        "--check",
        str(edited),
        tracking_uri=f"sqlite:///{tmp_path / 'unused.db'}",
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "problem:" in done.stderr
    problems = [
        line.removeprefix("problem: ")
        for line in done.stderr.splitlines()
        if line.startswith("problem: ")
    ]

    def found(*parts: str) -> bool:
        return any(all(part in p for part in parts) for p in problems)

    assert found("EndpointDown", "severity 'page'")
    assert found("NoTraffic", "no runbook_url")
    assert found("QueueSaturated", "not a heading")
    assert found("DatasetDrift", "no `for`")
    assert found("FeatureDrift", "mlharness_feature_drift is exported by nothing")
    assert found("ModelVersionChanged: no test case where it stays quiet")
    assert found("tests/", "promtool failed")  # HighErrorRatio's firing case no longer fires
    assert found("schemaVersion 36")
    assert found("panel 'Traffic'", "flask_http_request_total")
    assert found("grafana/dashboards/", "promtool failed")  # the panel that does not parse
    # The summary line counts them: the check is not ok.
    assert f"{len(problems)} problem(s)" in done.stdout, done.stdout


EDGE_MONITORING = {
    "fast and strict": {
        "scrape_interval_s": 1,
        "evaluation_interval_s": 1,
        "alert_for_s": 0,
        "thresholds": {
            "p99_latency_s": 0.001,
            "error_ratio": 1.0,
            "queue_saturation": 1.0,
            "feature_drift_score": 5.0,
            "dataset_drift_share": 1.0,
            "drift_check_max_age_s": 60,
            "no_traffic_minutes": 1,
        },
    },
    "slow and lenient": {
        "scrape_interval_s": 60,
        "evaluation_interval_s": 120,
        "alert_for_s": 900,
        "thresholds": {
            "p99_latency_s": 30,
            "error_ratio": 0.001,
            "queue_saturation": 0.05,
            "feature_drift_score": 0.01,
            "dataset_drift_share": 0.01,
            "drift_check_max_age_s": 3 * 86400,
            "no_traffic_minutes": 720,
        },
    },
}


EDGE_SLO = {
    "fast and strict": {
        "window_days": 0.5,
        "availability": {"objective_percent": 99.99},
        "latency": {"objective_percent": 99.9, "threshold_s": 0.001},
    },
    "slow and lenient": {
        "window_days": 90,
        "availability": {"objective_percent": 93.5},
        "latency": {"objective_percent": 95, "threshold_s": 10.0},
    },
}


@pytest.mark.parametrize("case", sorted(EDGE_MONITORING))
def test_the_generated_tests_pass_for_extreme_thresholds_and_intervals(
    case: str, tmp_path: Path
) -> None:
    config = json.loads(json.dumps(CONFIG))
    config["monitoring"].update(EDGE_MONITORING[case])
    config["slo"] = EDGE_SLO[case]
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(config))
    out = tmp_path / "out"
    write_stack(tmp_path / "pipeline.yaml", out)
    files = sorted(p.name for p in (out / "tests").glob("*.yml"))
    tests = run("promtool", "test", "rules", *files, cwd=out / "tests")
    assert tests.returncode == 0, tests.stdout + tests.stderr
    checked = run("promtool", "check", "config", "prometheus.yml", cwd=out)
    assert checked.returncode == 0, checked.stdout + checked.stderr
