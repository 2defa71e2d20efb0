"""Unit tests for projects/multistep's own code: parameters, step keys, data steps, metrics."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from tests.support.param_checks import assert_rejected
from tests.support.paths import PROJECTS

PROJECT = PROJECTS / "multistep"
sys.path.insert(0, str(PROJECT))

from multistep_project import evaluate, featurize, ingest, keys, params  # noqa: E402

TRAIN_PARAMS = {"features_uri": "runs:/a/features", "C": 1.0, "max_iter": 200, "seed": 42}


def test_entry_points_parameters_and_defaults_match_mlproject() -> None:
    spec = yaml.safe_load((PROJECT / "MLproject").read_text())["entry_points"]
    assert set(spec) == set(params.ENTRY_POINTS)
    for entry, declared in spec.items():
        checked = params.ENTRY_POINTS[entry]
        assert list(declared["parameters"]) == list(checked), entry
        for name, item in declared["parameters"].items():
            assert item.get("default") == checked[name].default, (entry, name)


def test_parse_entry_point_converts_types() -> None:
    entry, parsed = params.parse_entry_point(["main", "--C", "1e-1", "--select_k", "5"])
    assert entry == "main"
    assert parsed == {"test_size": 0.25, "seed": 42, "select_k": 5, "C": 0.1, "max_iter": 200}


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["main", "--foo", "1"], "unknown parameter foo; accepted parameters: test_size, seed, "),
        (
            ["main", "--select_k", "31"],
            "parameter select_k: 31 is out of range; accepted: integers",
        ),
        (["main", "--C", "-1"], "parameter C: -1.0 is out of range; accepted: numbers with 0 < C"),
        (["ingest", "--test_size", "half"], "parameter test_size: 'half' is not accepted"),
        (["train", "--C", "1"], "parameter features_uri: missing; accepted: an artifact URI"),
        (["featurize", "--data_uri", "data"], "parameter data_uri: 'data' is out of range"),
        (["deploy"], "unknown entry point 'deploy'; accepted: ingest, featurize, train"),
    ],
)
def test_bad_input_is_one_line_naming_the_parameter(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_rejected(lambda: params.parse_entry_point(argv), needle, capsys)


# --- step keys -------------------------------------------------------------------------------

BASE: dict[str, Any] = {
    "step": "train",
    "params": {"C": 1.0, "max_iter": 200},
    "input_digests": {"features_uri": "f" * 64},
    "source_digest": "s" * 64,
    "project": "p" * 64,
    "env": {"python": "3.11.7"},
}


def _key(**changes: Any) -> str:
    args = {**BASE, **changes}
    return keys.step_key(
        args["step"],
        args["params"],
        args["input_digests"],
        source_digest=args["source_digest"],
        project=args["project"],
        env=args["env"],
    )


def test_step_key_is_stable_and_ignores_param_order() -> None:
    assert _key() == _key()
    assert _key(params={"max_iter": 200, "C": 1.0}) == _key()
    assert len(_key()) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"step": "evaluate"},
        {"params": {"C": 0.5, "max_iter": 200}},
        {"params": {"C": 1.0}},
        {"input_digests": {"features_uri": "g" * 64}},
        {"source_digest": "t" * 64},
        {"project": "q" * 64},
        {"env": {"python": "3.12.1"}},
    ],
)
def test_step_key_changes_with_every_component(change: dict[str, Any]) -> None:
    assert _key(**change) != _key()


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A copy of the project outside git: keys must not depend on where the code lives."""
    copy = tmp_path / "multistep"
    shutil.copytree(PROJECT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@pytest.fixture
def features(tmp_path: Path) -> Path:
    directory = tmp_path / "features"
    directory.mkdir()
    (directory / "train.csv").write_text("a,target\n1,0\n2,1\n")
    return directory


def test_key_for_is_git_independent_and_uses_input_content_not_uri(
    project_copy: Path, features: Path, tmp_path: Path
) -> None:
    original = keys.key_for("train", TRAIN_PARAMS, {"features_uri": features})
    assert keys.key_for("train", TRAIN_PARAMS, {"features_uri": features}, project_copy) == original
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(features, elsewhere)
    other_uri = {**TRAIN_PARAMS, "features_uri": "runs:/b/features"}
    assert keys.key_for("train", other_uri, {"features_uri": elsewhere}) == original


def test_key_for_changes_with_params_and_input_content(features: Path) -> None:
    original = keys.key_for("train", TRAIN_PARAMS, {"features_uri": features})
    assert keys.key_for("train", {**TRAIN_PARAMS, "C": 2.0}, {"features_uri": features}) != original
    (features / "train.csv").write_text("a,target\n1,0\n3,1\n")
    assert keys.key_for("train", TRAIN_PARAMS, {"features_uri": features}) != original


def test_editing_a_step_changes_only_that_steps_key(project_copy: Path, features: Path) -> None:
    def both() -> tuple[str, str]:
        return (
            keys.key_for("train", TRAIN_PARAMS, {"features_uri": features}, project_copy),
            keys.key_for("ingest", {"test_size": 0.25, "seed": 1}, {}, project_copy),
        )

    train_key, ingest_key = both()
    with (project_copy / "multistep_project" / "train.py").open("a") as f:
        f.write("\n# a harmless edit is still an edit\n")
    edited_train, same_ingest = both()
    assert edited_train != train_key and same_ingest == ingest_key

    with (project_copy / "MLproject").open("a") as f:
        f.write("\n# shared code\n")
    assert all(new != old for new, old in zip(both(), (edited_train, ingest_key), strict=True))


def test_tree_digest_covers_names_and_bytes(features: Path, tmp_path: Path) -> None:
    digest = keys.tree_digest(features)
    (features / "train.csv").rename(features / "renamed.csv")
    assert keys.tree_digest(features) != digest
    assert keys.tree_digest(features / "renamed.csv") == keys.file_digest(features / "renamed.csv")
    with pytest.raises(FileNotFoundError):
        keys.tree_digest(tmp_path / "missing")


def test_ingest_source_is_the_shipped_data_file() -> None:
    source = ingest.SOURCE_FILES["source"]
    assert source.is_file() and source.name == "breast_cancer.csv"


# --- data steps and metrics ------------------------------------------------------------------


def test_ingest_split_is_seeded_and_stratified() -> None:
    (x_a, y_a), (xt_a, yt_a) = ingest.split(0.25, 1)
    (x_b, _), (xt_b, _) = ingest.split(0.25, 1)
    (_, _), (xt_c, _) = ingest.split(0.25, 2)
    assert x_a.equals(x_b) and xt_a.equals(xt_b) and not xt_a.equals(xt_c)
    assert len(xt_a) == pytest.approx(0.25 * (len(x_a) + len(xt_a)), abs=1)
    assert yt_a.mean() == pytest.approx(y_a.mean(), abs=0.02)
    assert not any(" " in c for c in x_a.columns)


def test_featurize_fits_on_train_only_and_keeps_k_columns() -> None:
    (x_train, y_train), (x_test, _) = ingest.split(0.25, 0)
    f_train, f_test = featurize.fit_transform(x_train, y_train, x_test, 5)
    assert list(f_train.columns) == list(f_test.columns) and f_train.shape[1] == 5
    assert set(f_train.columns) <= set(x_train.columns)
    assert np.allclose(f_train.mean(), 0, atol=1e-9)
    assert not np.allclose(f_test.mean(), 0, atol=1e-3)  # scaled with the train statistics


def test_evaluate_scores_known_values() -> None:
    y = np.array([0, 0, 1, 1])
    perfect = evaluate.scores(y, np.array([0.0, 0.2, 0.8, 1.0]))
    assert perfect["accuracy"] == perfect["f1"] == perfect["roc_auc"] == 1.0
    half = evaluate.scores(y, np.full(4, 0.5))
    assert half["log_loss"] == pytest.approx(np.log(2)) and half["roc_auc"] == 0.5
