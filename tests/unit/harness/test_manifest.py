"""Manifest canonical form, digest, refusal of newer/edited manifests, secret filtering."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from harness.kernel.errors import SpecError
from harness.run.environment import is_secret, recorded_variables
from harness.schemas import manifest


def _doc() -> dict[str, Any]:
    return {
        "schema_version": 1,
        "source": {
            "uri": "/r",
            "commit": "a" * 40,
            "subdir": "rf",
            "version": None,
            "dirty": False,
            "diff_digest": None,
            "tree_digest": "d" * 64,
            "template": None,
        },
        "run_spec": {
            "entry_point": "main",
            "parameters": {"alpha": "0.5"},
            "env_manager": "local",
            "experiment_name": None,
            "run_name": None,
        },
        "environment": {
            "python": "3.11.7",
            "platform": "Linux",
            "env_manager": "local",
            "lock_digest": "e" * 64,
            "pip_freeze": ["mlflow==3.17.2"],
            "variables": {},
        },
        "inputs": {"data": {"value": "/d.csv", "digest": "f" * 64}},
        "outputs": {"x.png": "b" * 64},
        "metrics": {"acc": 0.5},
        "seeds": {},
        "timings": {"started": "t0", "finished": "t1", "duration_s": 1.5},
        "cache_key": "c" * 64,
    }


def test_canonical_json_is_sorted_and_compact_and_key_order_free() -> None:
    doc = _doc()
    reordered = dict(reversed(list(doc.items())))
    assert manifest.canonical_json(doc) == manifest.canonical_json(reordered)
    assert manifest.canonical_json({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'
    assert manifest.digest(doc) == manifest.digest(reordered)
    changed = copy.deepcopy(doc)
    changed["metrics"]["acc"] = 0.5000001
    assert manifest.digest(changed) != manifest.digest(doc)


def test_check_accepts_an_untouched_manifest() -> None:
    doc = _doc()
    assert manifest.check(doc, manifest.digest(doc), where="run r") is doc


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
