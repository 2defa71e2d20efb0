"""The ``slo`` section and golden requests of the pipeline config, as ``config check`` sees them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.config.operations import check_file
from harness.kernel.errors import ConfigError
from harness.schemas.pipeline_config import PipelineConfig, load
from harness.schemas.slo import BURN_RATE_ALERTS, LATENCY_BUCKETS_S, SLOConfig, nearest_bounds
from orchestration.serving.metrics import DURATION_BUCKETS
from tests.support.paths import REPO

BASE = {
    "name": "p",
    "project": {"path": str(REPO / "projects" / "rf")},
    "steps": [{"name": "train"}],
    "model": {"name": "m"},
}


def write(tmp_path: Path, **sections: object) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump({**BASE, **sections}))
    return path


def test_the_default_slo_is_the_sre_workbook_table_over_30_days() -> None:
    slo = SLOConfig()
    assert slo.window_s == 30 * 86400
    windows = [(a.long_s(slo.window_s), a.short_s(slo.window_s)) for a in BURN_RATE_ALERTS]
    assert windows == [(3600, 300), (6 * 3600, 1800), (86400, 7200), (3 * 86400, 6 * 3600)]
    assert [a.factor for a in BURN_RATE_ALERTS] == [14.4, 6.0, 3.0, 1.0]
    assert [a.severity for a in BURN_RATE_ALERTS] == ["page", "page", "ticket", "ticket"]
    # 14.4x over 1h spends 2% of a 30-day budget; 6x over 6h 5%; 3x over 1d 10%.
    assert [round(a.budget_share(), 4) for a in BURN_RATE_ALERTS] == [0.02, 0.05, 0.1, 0.1]


def test_the_server_and_the_check_read_one_bucket_definition() -> None:
    assert DURATION_BUCKETS is LATENCY_BUCKETS_S
    assert nearest_bounds(0.3) == [0.25, 0.5]
    assert nearest_bounds(0.0001) == [0.001]
    assert nearest_bounds(60) == [10.0]


def test_a_latency_threshold_off_the_buckets_names_the_nearest_bounds(tmp_path: Path) -> None:
    report = check_file(write(tmp_path, slo={"latency": {"threshold_s": 0.3}}))
    assert not report.ok
    (problem,) = report.problems
    assert problem.startswith("slo.latency.threshold_s: 0.3 s is not a bucket bound")
    assert "nearest bounds are 0.25 and 0.5" in problem
    assert check_file(write(tmp_path, slo={"latency": {"threshold_s": 0.5}})).ok


def test_every_slo_problem_is_listed_with_its_key_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        slo={
            "window_days": 0,
            "availability": {"objective_percent": 90},
            "latency": {"objective_percent": 100, "threshold_s": 0.3},
            "typo": 1,
        },
        monitoring={"golden": {"requests": [{"name": "a", "body": {"rows": []}}]}},
    )
    with pytest.raises(ConfigError) as caught:
        load(path)
    paths = {p.split(":")[0] for p in caught.value.problems}
    assert paths == {
        "slo.window_days",
        "slo.availability.objective_percent",
        "slo.latency.objective_percent",
        "slo.latency.threshold_s",
        "slo.typo",
        "monitoring.golden.requests[0].body",
    }
    text = "\n".join(caught.value.problems)
    assert "above 93.06%" in text  # a 14.4x burn of a 10% budget could never fire
    assert "exactly one of dataframe_records, dataframe_split, inputs, instances" in text


def test_a_window_too_short_for_the_scrape_interval_is_a_check_problem(tmp_path: Path) -> None:
    report = check_file(write(tmp_path, slo={"window_days": 0.5}))
    (problem,) = report.problems
    assert problem.startswith("slo.window_days: 0.5 days makes the shortest burn-rate window")
    assert "under 4 scrape intervals (60 s)" in problem
    fast = {"scrape_interval_s": 1, "evaluation_interval_s": 1}
    assert check_file(write(tmp_path, slo={"window_days": 0.5}, monitoring=fast)).ok


def test_golden_request_names_are_unique_and_the_input_example_has_its_own() -> None:
    body = {"dataframe_split": {"columns": ["a"], "data": [[1]]}}
    with pytest.raises(ValueError, match="unique: input_example"):
        PipelineConfig.model_validate(
            {
                **BASE,
                "monitoring": {
                    "golden": {
                        "from_input_example": True,
                        "requests": [{"name": "input_example", "body": body}],
                    }
                },
            }
        )
    config = PipelineConfig.model_validate(
        {**BASE, "monitoring": {"golden": {"requests": [{"name": "one", "body": body}]}}}
    )
    assert config.monitoring.golden.names() == ["one"] and config.slo is None


def test_the_example_pipeline_has_an_slo_section_and_checks_clean() -> None:
    report = check_file(REPO / "examples" / "rf-pipeline.yaml")
    assert report.ok, report.problems
    assert report.config is not None and report.config.slo is not None
    assert set(report.config.slo.objectives()) == {"availability", "latency"}
