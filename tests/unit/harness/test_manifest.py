"""Manifest canonical form, digest, refusal of newer/edited manifests, secret filtering."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from harness.kernel.errors import SpecError
from harness.run.environment import is_secret, recorded_variables
from harness.schemas import manifest
from harness.schemas.manifest import RunManifest
from tests.support.manifests import manifest_json


def _doc() -> dict[str, Any]:
    return manifest_json()


def test_canonical_json_is_sorted_and_compact_and_key_order_free() -> None:
    doc = _doc()
    reordered = dict(reversed(list(doc.items())))
    assert manifest.canonical_json(doc) == manifest.canonical_json(reordered)
    assert manifest.canonical_json({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'
    assert manifest.digest(doc) == manifest.digest(reordered)
    changed = copy.deepcopy(doc)
    changed["metrics"]["acc"] = 0.5000001
    assert manifest.digest(changed) != manifest.digest(doc)


def test_check_accepts_an_untouched_manifest_and_returns_it_typed() -> None:
    doc = _doc()
    checked = manifest.check(doc, manifest.digest(doc), where="run r")
    assert isinstance(checked, RunManifest)
    assert checked.as_json_dict() == doc
    assert checked.run_spec.parameters == {"alpha": "0.5"}
    assert checked.environment.lock_digest == "e" * 64
    assert checked.metrics == {"acc": 0.5}


def _with_every_optional_field() -> dict[str, Any]:
    doc = _doc()
    doc["source"]["template"] = {
        "name": "sklearn",
        "version": "1",
        "answers": {"n": 3, "ratio": 0.25, "flag": True, "none": None, "list": [1, "a"]},
    }
    doc["run_spec"].update(experiment_name="e", run_name="r")
    doc["environment"]["recorded_env"] = {"key": "py3.11.7-k", "path": "/e", "of_run": "r0"}
    return doc


def _without_the_optional_fields() -> dict[str, Any]:
    """A manifest logged before ``tree_digest``, ``template`` and ``recorded_env`` existed."""
    doc = _doc()
    del doc["source"]["tree_digest"], doc["source"]["template"]
    return doc


def _with_integer_metrics() -> dict[str, Any]:
    doc = _doc()
    doc["metrics"] = {"n": 1, "one": 1.0, "big": 10**15, "zero": 0, "neg": -0.0, "acc": 0.5}
    doc["timings"]["duration_s"] = 2
    return doc


@pytest.mark.parametrize(
    "make", [_with_every_optional_field, _without_the_optional_fields, _with_integer_metrics]
)
def test_a_checked_manifest_gives_back_its_json_and_its_digest(make: Any, tmp_path: Path) -> None:
    """Old manifests still verify: the digest (tag) of the JSON as it was logged is the
    digest of the RunManifest read back, and of the manifest written from it again."""
    logged = make()
    tag = manifest.digest(logged)  # what the run was tagged with, before RunManifest existed
    checked = manifest.check(copy.deepcopy(logged), tag, where="run r")
    assert manifest.canonical_json(checked.as_json_dict()) == manifest.canonical_json(logged)
    assert manifest.digest(checked) == tag
    manifest.write(checked, tmp_path / "manifest.json")
    again = manifest.loads((tmp_path / "manifest.json").read_bytes(), where="run r")
    assert again == logged
    assert manifest.digest(manifest.check(again, tag, where="run r")) == tag


def test_absent_optional_fields_stay_absent_and_explicit_nones_stay_present() -> None:
    old = RunManifest.model_validate(_without_the_optional_fields())
    assert old.source.tree_digest is None and old.source.template is None
    source = old.as_json_dict()["source"]
    assert "tree_digest" not in source and "template" not in source
    assert "recorded_env" not in old.as_json_dict()["environment"]
    assert source["diff_digest"] is None and "diff_digest" in source
    new = RunManifest.model_validate(_doc())
    assert new.as_json_dict()["source"]["template"] is None


def test_integer_metrics_keep_their_json_text() -> None:
    checked = RunManifest.model_validate(_with_integer_metrics())
    text = manifest.canonical_json(checked.as_json_dict())
    assert '"n":1,' in text and '"one":1.0,' in text and '"zero":0}' in text
    assert '"big":1000000000000000,' in text and '"neg":-0.0,' in text
    assert '"duration_s":2,' in text
    assert type(checked.metrics["n"]) is int and type(checked.metrics["one"]) is float


def test_a_metric_that_is_not_a_number_is_refused() -> None:
    for bad in (True, "1", None):
        doc = _doc()
        doc["metrics"]["acc"] = bad
        with pytest.raises(manifest.ManifestError, match=r"metrics\.acc: Input should be"):
            manifest.check(doc, manifest.digest(doc), where="run r")


def test_check_refuses_an_edited_manifest() -> None:
    doc = _doc()
    tag = manifest.digest(doc)
    doc["metrics"]["acc"] = 0.99
    with pytest.raises(SpecError, match="edited after the run"):
        manifest.check(doc, tag, where="run r")


def test_check_refuses_a_newer_schema_even_with_a_matching_digest() -> None:
    doc = _doc()
    doc["schema_version"] = 2
    with pytest.raises(SpecError, match="schema_version 2 is newer"):
        manifest.check(doc, manifest.digest(doc), where="run r")


@pytest.mark.parametrize("broken", [[], {"schema_version": "1"}, {"schema_version": 1}])
def test_check_refuses_malformed_manifests(broken: object) -> None:
    with pytest.raises(SpecError):
        manifest.check(broken, "x", where="run r")


def test_check_lists_every_problem_with_its_key_path_before_the_digest() -> None:
    doc = _doc()
    doc["run_spec"]["parameters"]["alpha"] = 0.5
    doc["source"]["dirty"] = "no"
    doc["inputs"]["data"] = {"value": "/d.csv"}
    doc["extra"] = 1
    del doc["cache_key"]
    with pytest.raises(manifest.ManifestError) as info:
        manifest.check(doc, manifest.digest(doc), where="run r")
    text = info.value.one_line()
    assert text.startswith("run r: the manifest has 5 problem(s): ")
    for path in (
        "source.dirty:",
        "run_spec.parameters.alpha:",
        "inputs.data.digest: Field required",
        "cache_key: Field required",
        "extra: Extra inputs are not permitted",
    ):
        assert path in text, text
    assert "\n" not in text


@pytest.mark.parametrize("text", ["", '{"schema_version": 1, "sou', "\x00\xff garbage"])
def test_loads_refuses_what_is_not_json_in_one_line(text: str) -> None:
    with pytest.raises(manifest.ManifestError, match=r"^run r: .*not JSON") as info:
        manifest.loads(text.encode("latin-1"), where="run r")
    assert "\n" not in info.value.one_line()


@pytest.mark.parametrize(
    "name",
    [
        "MLFLOW_TRACKING_TOKEN",
        "MLFLOW_TRACKING_PASSWORD",
        "MY_SECRET_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_REGION",
        "DATABRICKS_TOKEN",
        "MLFLOW_S3_SECRET",
    ],
)
def test_secret_looking_variables_are_never_recorded(name: str) -> None:
    assert is_secret(name)
    recorded = recorded_variables(
        {name: "hunter2", "MLFLOW_EXPERIMENT_NAME": "e", "PYTHONHASHSEED": "0", "HOME": "/root"}
    )
    assert name not in recorded
    assert recorded == {"MLFLOW_EXPERIMENT_NAME": "e", "PYTHONHASHSEED": "0"}


def test_recorded_tracking_uri_loses_its_credentials() -> None:
    recorded = recorded_variables({"MLFLOW_TRACKING_URI": "https://u:p@mlflow.example"})
    assert recorded == {"MLFLOW_TRACKING_URI": "https://mlflow.example"}


def test_input_digests_cover_files_and_directories(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.csv").write_text("1\n")
    (tmp_path / "f.csv").write_text("2\n")
    found = manifest.input_digests(
        {"dir": str(tmp_path / "d"), "file": str(tmp_path / "f.csv"), "remote": "s3://bucket/x"}
    )
    assert found["remote"]["digest"] is None
    before = (found["dir"]["digest"], found["file"]["digest"])
    (tmp_path / "d" / "a.csv").write_text("1\n2\n")
    after = manifest.input_digests({"dir": str(tmp_path / "d")})
    assert after["dir"]["digest"] != before[0]
    assert all(d and len(d) == 64 for d in before)


def test_output_digests_skip_the_manifest_itself(tmp_path: Path) -> None:
    (tmp_path / "mlharness").mkdir()
    (tmp_path / "mlharness" / "manifest.json").write_text("{}")
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "a.png").write_bytes(b"png")
    assert list(manifest.output_digests(tmp_path)) == ["plots/a.png"]
