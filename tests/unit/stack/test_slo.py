"""SLO rules and burn-rate alerts, meta-monitoring and golden probes as data."""

from __future__ import annotations

import json
import re
from pathlib import Path

from harness.schemas.pipeline_config import PipelineConfig
from harness.schemas.slo import GoldenRequests
from monitoring.stack.alerts import alerts_for
from monitoring.stack.dashboard import SLO_ROW, dashboard_json
from monitoring.stack.golden import (
    EXPECTED_FILE,
    GoldenProbe,
    answer_regex,
    answer_text,
    expected_json,
    module_config,
    probes_from_config,
    read_expected,
)
from monitoring.stack.promql import is_known, metric_names
from monitoring.stack.settings import StackSettings, settings_from_config
from monitoring.stack.slo import budget_tests, slo_rules

BODY = {"dataframe_split": {"columns": ["f0", "f1"], "data": [[1.5, 2.0]]}}


def settings(slo: object = None, **monitoring: object) -> StackSettings:
    data: dict[str, object] = {
        "name": "p",
        "project": {"path": "."},
        "steps": [{"name": "train"}],
        "model": {"name": "m"},
        "monitoring": monitoring,
    }
    if slo is not None:
        data["slo"] = slo
    return settings_from_config(PipelineConfig.model_validate(data), "pipeline.yaml")


def by_name(s: StackSettings) -> dict[str, str]:
    return {a.name: a.expr for a in alerts_for(s)}


def test_no_slo_section_no_slo_rules_or_alerts() -> None:
    s = settings()
    assert slo_rules(s) == [] and budget_tests(s) == []
    assert not any("Burn" in name for name in by_name(s))


def test_four_burn_rate_alerts_per_objective_with_the_workbook_windows() -> None:
    exprs = by_name(settings({}))
    burns = {name: expr for name, expr in exprs.items() if "Burn" in name}
    assert list(burns) == [
        f"{o}{a}"
        for o in ("Availability", "Latency")
        for a in ("FastBurnPage", "SlowBurnPage", "FastBurnTicket", "SlowBurnTicket")
    ]
    assert burns["AvailabilityFastBurnPage"] == (
        '(slo:sli_error:ratio_rate1h{slo="availability"} > (14.4 * 0.005)) and ignoring '
        '(window) (slo:sli_error:ratio_rate5m{slo="availability"} > (14.4 * 0.005))'
    )
    windows = {name: re.findall(r"ratio_rate(\w+)\{", expr) for name, expr in burns.items()}
    assert windows["LatencySlowBurnPage"] == ["6h", "30m"]
    assert windows["LatencyFastBurnTicket"] == ["1d", "2h"]
    assert windows["AvailabilitySlowBurnTicket"] == ["3d", "6h"]
    assert "(3 * 0.01)" in burns["LatencyFastBurnTicket"]  # 99% objective: budget 1%
    severities = {a.name: a.severity for a in alerts_for(settings({}))}
    assert severities["AvailabilitySlowBurnPage"] == "critical"
    assert severities["LatencySlowBurnTicket"] == "warning"


def test_sli_rules_cover_every_window_and_read_the_threshold_bucket() -> None:
    rules = slo_rules(settings({"latency": {"threshold_s": 1.0}, "availability": None}))
    sli = [r for r in rules if r.record.startswith("slo:sli_error:")]
    assert [r.labels["window"] for r in sli] == ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]
    assert all(r.labels["slo"] == "latency" for r in sli)
    # prometheus_client writes the bound 1.0 as le="1.0": the SLI must select exactly that.
    assert 'le="1.0"' in sli[0].expr
    remaining = next(r for r in rules if r.record == "slo:error_budget_remaining:ratio")
    assert remaining.expr == (
        '1 - sum without (window) (slo:sli_error:ratio_rate30d{slo="latency"}) / 0.01'
    )
    recorded = frozenset(r.record for r in rules)
    for rule in rules:
        assert all(is_known(n, recorded) for n in metric_names(rule.expr)), rule


def test_windows_scale_with_the_slo_window() -> None:
    exprs = by_name(settings({"window_days": 0.5}, scrape_interval_s=1, evaluation_interval_s=1))
    assert "ratio_rate1m{" in exprs["AvailabilityFastBurnPage"]  # 1h / 30 days x 12h
    assert "ratio_rate5s{" in exprs["AvailabilityFastBurnPage"]
    assert "ratio_rate72m{" in exprs["LatencySlowBurnTicket"]


def test_the_generated_boundary_cases_sit_on_either_side_of_each_factor() -> None:
    s = settings({})
    for alert in alerts_for(s):
        if alert.suite != "slo":
            continue
        factor = float(re.findall(r"\(([\d.]+) \* ", alert.expr)[0])
        budget = 0.005 if alert.name.startswith("Availability") else 0.01
        above = float(alert.firing.name.split("%")[0]) / 100
        assert alert.quiet is not None
        below = float(alert.quiet.name.split("%")[0]) / 100
        assert below < factor * budget < above, alert.name
        assert above <= 1.05 * factor * budget
        names = [c.name for c in alert.more]
        if alert.severity == "critical":
            assert any(n.startswith("a short blip") for n in names)
        else:
            assert "a slow burn at 2x" in names
    slow_burn = {
        a.name: case.fires
        for a in alerts_for(s)
        for case in a.more
        if case.name == "a slow burn at 2x"
    }
    assert slow_burn == {
        "AvailabilityFastBurnTicket": False,
        "AvailabilitySlowBurnTicket": True,
        "LatencyFastBurnTicket": False,
        "LatencySlowBurnTicket": True,
    }


def test_meta_alerts_watch_every_scrape_job_and_the_drift_gauges() -> None:
    s = settings(features=["f0"], golden={"requests": [{"name": "one", "body": BODY}]})
    exprs = by_name(s)
    for job in ("scoring", "mlflow", "pushgateway", "blackbox", "golden"):
        assert f'absent(up{{job="{job}"}} == 1)' in exprs["ScrapeJobAbsent"]
    assert "absent(mlharness_drift_last_success_timestamp_seconds)" in exprs["DriftMetricsAbsent"]
    assert 'absent(mlharness_online_drift_detected{job="scoring"})' in exprs["DriftMetricsAbsent"]
    assert exprs["Watchdog"] == "vector(1)"
    assert exprs["WrongAnswers"] == (
        'max by (golden, instance) (probe_failed_due_to_regex{job="golden"}) == 1'
    )
    plain = by_name(settings(mlflow_url=""))
    assert "mlflow" not in plain["ScrapeJobAbsent"] and "WrongAnswers" not in plain
    assert "online" not in plain["DriftMetricsAbsent"]  # no features: no online gauges


def test_the_dashboard_gets_an_slo_row_reading_recorded_series() -> None:
    s = settings({})
    board = dashboard_json(s)
    panels = board["panels"]
    assert isinstance(panels, list)
    titles = [p["title"] for p in panels if isinstance(p, dict)]
    assert SLO_ROW in titles
    row = titles.index(SLO_ROW)
    assert titles[row + 1 :] == ["Error budget remaining (30d)", "Burn rate", "SLI (1h)"]
    recorded = frozenset(r.record for r in slo_rules(s))
    for panel in panels[row + 1 :]:
        assert isinstance(panel, dict)
        for target in panel["targets"]:  # type: ignore[union-attr]
            assert isinstance(target, dict)
            assert metric_names(str(target["expr"])) <= recorded
    assert SLO_ROW not in json.dumps(dashboard_json(settings()))


def test_answer_regex_matches_exactly_the_answer_text() -> None:
    answer = answer_text([1, 0.25, "a.b", None])
    assert answer == '{"predictions": [1, 0.25, "a.b", null]}'
    pattern = answer_regex(answer)
    assert pattern == r'\{"predictions": \[1, 0\.25, "a\.b", null\]\}'
    assert re.search(pattern, answer)
    assert not re.search(pattern, answer_text([1, 0.25, "aXb", None]))
    assert not re.search(pattern, answer_text([1, 0.25, "a.b", None, 2]))


def test_probe_modules_and_what_a_re_render_keeps(tmp_path: Path) -> None:
    golden = GoldenRequests.model_validate(
        {
            "from_input_example": True,
            "requests": [
                {"name": "known", "body": BODY, "expected": [1]},
                {"name": "unknown", "body": BODY},
            ],
        }
    )
    known, unknown, example = probes_from_config(golden)
    http = module_config(known, "5s")["http"]
    assert isinstance(http, dict)
    assert http["method"] == "POST" and http["body"] == json.dumps(BODY)
    assert http["fail_if_body_not_matches_regexp"] == [r'\{"predictions": \[1\]\}']
    assert module_config(unknown, "5s")["http"]["fail_if_body_not_matches_regexp"] == [  # type: ignore[index]
        '"predictions"'
    ]
    # The input example's body is unknown until a promotion: the probe checks the route only.
    assert example.body is None and module_config(example, "5s")["http"]["method"] == "GET"  # type: ignore[index]

    promoted = [
        GoldenProbe("known", json.dumps(BODY), answer_text([0]), "models:/m/2"),
        GoldenProbe("unknown", json.dumps(BODY), answer_text([1]), "models:/m/2"),
        GoldenProbe("input_example", '{"inputs": [[1]]}', answer_text([7]), "models:/m/2"),
    ]
    (tmp_path / EXPECTED_FILE).parent.mkdir()
    (tmp_path / EXPECTED_FILE).write_text(expected_json(promoted))
    assert probes_from_config(golden, read_expected(tmp_path)) == promoted
    # A body edited in the config is not the body the promotion answered: the config wins.
    edited = GoldenRequests.model_validate(
        {"requests": [{"name": "known", "body": {"inputs": [[2]]}, "expected": [5]}]}
    )
    (kept,) = probes_from_config(edited, read_expected(tmp_path))
    assert kept.answer == answer_text([5]) and kept.source == "config"
    assert read_expected(tmp_path / "nothing") == {}
