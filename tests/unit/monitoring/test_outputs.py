"""JSON report, HTML page and Prometheus gauges from one real drift result."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from harness.schemas.validation import InvalidFile
from monitoring import report_json
from monitoring.chunks import TableSource
from monitoring.drift import DriftResult, run_drift
from monitoring.metric_names import BATCH_DRIFT_METRICS
from monitoring.metrics import DriftMetrics
from monitoring.policy import make_policy
from monitoring.profile import build_profile, load_profile, save_profile
from monitoring.report_html import render
from monitoring.schemas import ProfileHeader
from tests.support.monitoring_data import frame


@pytest.fixture(scope="module")
def drifted() -> DriftResult:
    profile = build_profile(
        TableSource(frame(2000, 1)), name="train", target="target", prediction="prediction"
    )
    current = frame(2000, 2, shift=1.0)
    # A category never seen in the reference makes the chi-square statistic infinite.
    cats = current.column("cat").to_pylist()
    cats[:50] = ["zz"] * 50
    import pyarrow as pa

    current = current.set_column(4, "cat", pa.array(cats))
    policy = make_policy(["cat=chisquare"])
    return run_drift(profile, TableSource(current), policy, current_name="batch-7")


def test_json_report_is_strict_and_versioned(drifted: DriftResult, tmp_path: Path) -> None:
    path = report_json.write_json(report_json.to_dict(drifted), tmp_path / "r.json")
    data = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"bare {c}"))
    assert data["schema_version"] == 1 and data["kind"] == "mlharness.drift_report"
    assert data["dataset_drift"] is True
    cat = next(c for c in data["columns"] if c["name"] == "cat")
    assert cat["categorical"]["chi2_statistic"] == "inf" and cat["score"] == 0.0
    assert cat["categorical"]["unseen_categories"] == 1


def test_html_is_self_contained_with_a_sortable_table(drifted: DriftResult) -> None:
    page = render(drifted)
    assert "id='drift-table'" in page and "addEventListener" in page
    assert page.count("<svg") == len(drifted.columns)
    assert not re.search(r"(src|href)=['\"](https?:)?//", page)
    assert "batch-7" in page and "Data-set drift detected" in page


def test_gauges_per_feature_and_data_set(drifted: DriftResult, tmp_path: Path) -> None:
    metrics = DriftMetrics()
    metrics.update(drifted, "batch-7")
    text = generate_latest(metrics.registry).decode()
    assert 'mlharness_dataset_drift{dataset="batch-7"} 1.0' in text
    assert re.search(r'mlharness_drift_detected\{column="x0",dataset="batch-7".*\} 1\.0', text)
    assert 'mlharness_drift_last_run_timestamp_seconds{dataset="batch-7"}' in text
    # The infinite chi-square is not the deciding statistic (the p-value is): finite gauges.
    assert "+Inf" not in text and "NaN" not in text
    metrics.write_textfile(tmp_path / "drift.prom")
    assert "mlharness_dataset_drift_share" in (tmp_path / "drift.prom").read_text()


def test_the_json_report_is_what_its_schema_declares(drifted: DriftResult, tmp_path: Path) -> None:
    path = report_json.write_json(report_json.to_dict(drifted), tmp_path / "r.json")
    loaded = report_json.load(path)
    assert loaded.dataset_drift is True and loaded.current == "batch-7"
    cat = next(c for c in loaded.columns if c.name == "cat")
    assert cat.categorical is not None and cat.categorical.chi2_statistic == "inf"
    data = json.loads(path.read_text())
    data["columns"][0]["score"] = "high"
    data["columns"][1]["drift"] = "yes"
    data["surprise"] = 1
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidFile) as info:
        report_json.load(path)
    text = info.value.one_line()
    assert text.startswith(f"{path}: 3 problem(s): ")
    for problem in ("columns[0].score: Value error", "columns[1].drift:", "surprise: Extra"):
        assert problem in text, text


def test_a_saved_profile_header_is_what_its_schema_declares(tmp_path: Path) -> None:
    profile = build_profile(TableSource(frame(500, 1)), name="train", target="target")
    written = save_profile(profile, tmp_path / "p" / "profile.json")
    header = ProfileHeader.model_validate(json.loads(written[0].read_text()))
    assert header.payload == "profile.npz" and header.columns["cat"].kind == "categorical"
    again = load_profile(written[0])
    assert list(again.columns) == list(profile.columns)
    assert again.support("x0").values.tolist() == profile.support("x0").values.tolist()


def test_gauges_are_defined_once_from_the_catalogue(drifted: DriftResult) -> None:
    metrics = DriftMetrics()
    metrics.update(drifted, "batch-7")
    metrics.mark_success(1234.5)
    families = {f.name: f for f in metrics.registry.collect()}
    for spec in BATCH_DRIFT_METRICS:
        family = families[spec.name]
        assert (family.type, family.documentation) == (spec.kind, spec.help)
        for sample in family.samples:
            assert tuple(sample.labels) == spec.labels
    assert families["mlharness_drift_last_success_timestamp_seconds"].samples[0].value == 1234.5
    assert set(families) == {spec.name for spec in BATCH_DRIFT_METRICS}
