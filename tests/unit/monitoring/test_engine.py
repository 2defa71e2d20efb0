"""Known-drift and no-drift fixtures, profiles on disk, chunked and Parquet inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from harness.kernel.errors import SourceError
from monitoring.chunks import TableSource, open_source
from monitoring.drift import run_drift
from monitoring.policy import make_policy
from monitoring.profile import build_profile, load_profile, save_profile
from tests.support.monitoring_data import frame, write


@pytest.fixture(scope="module")
def saved_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("profile")
    profile = build_profile(
        TableSource(frame(3000, 1)), name="train", target="target", prediction="prediction"
    )
    save_profile(profile, folder / "profile.json")
    return folder / "profile.json"


def test_no_drift_fixture_gives_no_drift(saved_profile: Path) -> None:
    result = run_drift(load_profile(saved_profile), TableSource(frame(3000, 2)), make_policy([]))
    assert not result.dataset_drift and result.n_drifted_features == 0
    assert result.label_drift is False and result.prediction_drift is False
    assert result.concept is not None and not result.concept.drift


def test_known_drift_fixture_flags_the_shifted_columns(saved_profile: Path) -> None:
    current = TableSource(frame(3000, 3, shift=1.0, accuracy=0.6))
    result = run_drift(load_profile(saved_profile), current, make_policy([]))
    drifted = {c.name for c in result.columns if c.drift}
    assert drifted == {"x0", "x1", "x2", "cat"}
    assert result.dataset_drift and result.drift_share == pytest.approx(0.8)
    assert result.concept is not None and result.concept.drift
    assert result.concept.reference_value == pytest.approx(0.9, abs=0.03)


def test_small_reference_uses_p_value_tests(tmp_path: Path) -> None:
    profile = build_profile(TableSource(frame(500, 1)), name="small")
    result = run_drift(profile, TableSource(frame(500, 4, shift=0.5)), make_policy([]))
    methods = {c.name: c.method for c in result.columns}
    assert methods["x0"] == "ks" and methods["cat"] == "chisquare"
    assert result.dataset_drift


def test_profile_round_trip_is_exact_and_compact(saved_profile: Path, tmp_path: Path) -> None:
    header = json.loads(saved_profile.read_text())
    assert header["schema_version"] == 1 and header["target"] == "target"
    assert header["columns"]["cat"]["categories"].keys() == {"a", "b", "c"}
    assert header["columns"]["target"]["kind"] == "categorical"
    assert header["reference_metrics"]["accuracy"] == pytest.approx(0.9, abs=0.03)
    with np.load(saved_profile.with_suffix(".npz")) as payload:
        names = set(payload.files)
    x2 = list(header["columns"]).index("x2")
    x0 = list(header["columns"]).index("x0")
    assert f"{x2}.counts" in names  # rounded values: ties need counts
    assert f"{x0}.counts" not in names  # continuous: counts are all 1, not stored
    assert not [p for p in saved_profile.parent.iterdir() if p.name.startswith(".")]
    profile = build_profile(TableSource(frame(3000, 1)), name="train", max_values=100)
    assert profile.columns["x0"].sampled and profile.support("x0").n == 100


def test_chunked_parquet_input_gives_the_in_memory_result(
    saved_profile: Path, tmp_path: Path
) -> None:
    table = frame(5000, 5, shift=0.3)
    path = write(table, tmp_path / "cur.parquet")
    import pyarrow.parquet as pq

    pq.write_table(table, path, row_group_size=700)
    chunked = run_drift(
        load_profile(saved_profile), open_source(path, batch_rows=700), make_policy([])
    )
    whole = run_drift(load_profile(saved_profile), TableSource(table), make_policy([]))
    for a, b in zip(chunked.columns, whole.columns, strict=True):
        assert a.score == pytest.approx(b.score, rel=1e-12, abs=1e-12)
        if a.numeric and b.numeric:
            assert a.numeric.wasserstein == pytest.approx(b.numeric.wasserstein, rel=1e-12)


def test_large_csv_is_streamed_through_parquet(
    saved_profile: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitoring import chunks

    table = frame(3000, 2)
    path = write(table, tmp_path / "cur.csv")
    monkeypatch.setattr(chunks, "CSV_IN_MEMORY_BYTES", 0)
    source = open_source(path, batch_rows=1000)
    assert isinstance(source, chunks.ParquetSource) and source.num_rows == 3000
    streamed = run_drift(load_profile(saved_profile), source, make_policy([]))
    whole = run_drift(load_profile(saved_profile), TableSource(table), make_policy([]))
    assert [c.score for c in streamed.columns] == pytest.approx([c.score for c in whole.columns])


def test_missing_feature_column_is_bad_input(saved_profile: Path) -> None:
    current = TableSource(frame(100, 2).drop_columns(["x3"]))
    with pytest.raises(SourceError, match="x3"):
        run_drift(load_profile(saved_profile), current, make_policy([]))


def test_nonfinite_share_change_is_flagged(saved_profile: Path) -> None:
    table = frame(3000, 2)
    x0 = table.column("x0").to_numpy().copy()
    x0[:600] = np.nan
    table = table.set_column(0, "x0", pa.array(x0))
    result = run_drift(load_profile(saved_profile), TableSource(table), make_policy([]))
    x0_result = next(c for c in result.columns if c.name == "x0")
    assert x0_result.nonfinite_shift and x0_result.nonfinite_current["missing"] == 600
    assert x0_result.nonfinite_share_current == pytest.approx(0.2)
    assert not x0_result.drift


def test_unreadable_inputs_are_bad_input(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(SourceError):
        open_source(tmp_path / "x.json")
    with pytest.raises(SourceError):
        load_profile(tmp_path / "x.json")
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(SourceError):
        open_source(tmp_path / "bad.parquet")
