"""The render operation and command: byte-identical re-renders, all-or-nothing on errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer.main
import yaml

from harness.app import app, run_cli
from harness.kernel.errors import ConfigError, MlharnessError
from monitoring.stack.operations import write_stack

CONFIG = {
    "name": "rf_pipeline",
    "project": {"path": "."},
    "steps": [{"name": "train"}],
    "model": {"name": "rf-model"},
    "monitoring": {
        "alerts": {
            "slack_api_url_file": "/etc/alertmanager/secrets/slack_api_url",
            "webhook_url_file": "/etc/alertmanager/secrets/webhook_url",
        }
    },
}


def write_config(path: Path, config: dict[str, object] = CONFIG) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def cli(args: list[str]) -> int:
    return run_cli(typer.main.get_command(app), args, "mlharness")


def test_re_rendering_is_byte_identical_and_reports_no_change(tmp_path: Path) -> None:
    config = write_config(tmp_path / "pipeline.yaml")
    first = write_stack(config, tmp_path / "a")
    second = write_stack(config, tmp_path / "b")
    assert first.changed and first.digest == second.digest
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    again = write_stack(config, tmp_path / "a")
    assert not again.changed and again.digest == first.digest
    expected = {
        "prometheus.yml",
        "alertmanager.yml",
        "blackbox.yml",
        "README.md",
        "alerts/mlharness-alerts.yml",
        "rules/mlharness-recording.yml",
        "tests/mlharness-alerts.test.yml",
        "tests/mlharness-slow-alerts.test.yml",
        "grafana/dashboards/mlharness-model.json",
        "docker-compose.monitoring.yaml",
    }
    assert expected <= set(first.files)
    # Nothing of the render's scratch is left beside the output.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "pipeline.yaml"]


def test_a_changed_threshold_changes_exactly_the_rendered_rule_and_its_tests(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path / "pipeline.yaml")
    write_stack(config, tmp_path / "out")
    before = tree(tmp_path / "out")
    edited = json.loads(json.dumps(CONFIG))
    edited["monitoring"]["thresholds"] = {"p99_latency_s": 0.8}
    assert write_stack(write_config(config, edited), tmp_path / "out").changed
    after = tree(tmp_path / "out")
    changed = {name for name in before if before[name] != after[name]}
    assert {"alerts/mlharness-alerts.yml", "tests/mlharness-alerts.test.yml"} <= changed
    assert "> 0.8" in after["alerts/mlharness-alerts.yml"].decode()
    assert "prometheus.yml" not in changed


def test_receiver_urls_are_files_never_inline(tmp_path: Path) -> None:
    write_stack(write_config(tmp_path / "pipeline.yaml"), tmp_path / "out")
    am = yaml.safe_load((tmp_path / "out/alertmanager.yml").read_text())
    configs = [c for r in am["receivers"] for c in r.get("slack_configs", [])]
    assert configs and all("api_url" not in c and "api_url_file" in c for c in configs)
    assert {c["api_url_file"] for c in configs} == {
        "/etc/alertmanager/secrets/slack_api_url",
        "/etc/alertmanager/secrets/webhook_url",
    }
    compose = (tmp_path / "out/docker-compose.monitoring.yaml").read_text()
    assert "${GRAFANA_ADMIN_PASSWORD" in compose


def test_config_errors_are_listed_at_once_and_nothing_is_rendered(tmp_path: Path) -> None:
    bad = json.loads(json.dumps(CONFIG))
    bad["monitoring"].update({"scrape_interval_s": 0, "alert_for_s": -1, "typo": 1})
    config = write_config(tmp_path / "pipeline.yaml", bad)
    with pytest.raises(ConfigError) as caught:
        write_stack(config, tmp_path / "out")
    paths = {p.split(":")[0] for p in caught.value.problems}
    assert {
        "monitoring.scrape_interval_s",
        "monitoring.alert_for_s",
        "monitoring.typo",
    } <= paths
    assert not (tmp_path / "out").exists()
    # The same through the command: one line, exit 2, nothing written.
    assert cli(["monitor", "render", str(config), "-o", str(tmp_path / "out")]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipeline.yaml"]


def test_an_existing_directory_that_is_not_a_stack_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "precious.txt").write_text("keep me")
    with pytest.raises(MlharnessError, match="holds no rendered stack"):
        write_stack(write_config(tmp_path / "pipeline.yaml"), tmp_path / "out")
    assert (tmp_path / "out" / "precious.txt").read_text() == "keep me"


def test_dry_run_writes_nothing_and_json_says_what_would_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "pipeline.yaml")
    out = tmp_path / "out"
    assert cli(["monitor", "render", str(config), "-o", str(out), "--dry-run", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["render"]
    assert report["dry_run"] and report["changed"] and "prometheus.yml" in report["files"]
    assert not out.exists()
    assert cli(["monitor", "render", str(config), "-o", str(out)]) == 0
    assert "rendered" in capsys.readouterr().out
    assert cli(["monitor", "render", str(config), "-o", str(out), "--dry-run"]) == 0
    assert "unchanged" in capsys.readouterr().out
    assert cli(["monitor", "render"]) == 2
    assert cli(["monitor", "render", str(config)]) == 2
