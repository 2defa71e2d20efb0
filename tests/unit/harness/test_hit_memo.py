"""The memo's fingerprint, default store and read-only sqlite lookup, against MLflow itself."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from harness.kernel.digests import path_digest
from harness.run import run_memo as hit_memo
from harness.schemas.manifest import TAG_CACHE_KEY

BASE = hit_memo.Request("proj", "main", {"a": "1", "b": "x"}, "local", None, None)


def _fp(project: Path, request: hit_memo.Request = BASE, **kw: str) -> str:
    args = {"tracking_uri": "sqlite:////db", "cwd": "/w", **kw}
    return hit_memo.fingerprint(request, project, args["tracking_uri"], args["cwd"])[0]


def test_fingerprint_covers_every_input_of_the_decision(tmp_path: Path) -> None:
    (tmp_path / "MLproject").write_text("name: p\n")
    base = _fp(tmp_path)
    same = dataclasses.replace(BASE, params={"b": "x", "a": "1"})
    assert _fp(tmp_path, same) == base
    variants = [
        _fp(tmp_path, dataclasses.replace(BASE, params={"a": "2", "b": "x"})),
        _fp(tmp_path, dataclasses.replace(BASE, entry_point="other")),
        _fp(tmp_path, dataclasses.replace(BASE, env_manager="uv")),
        _fp(tmp_path, dataclasses.replace(BASE, experiment_name="e")),
        _fp(tmp_path, cwd="/elsewhere"),
        _fp(tmp_path, tracking_uri="sqlite:////other.db"),
    ]
    (tmp_path / "MLproject").write_text("name: q\n")
    variants.append(_fp(tmp_path))
    assert len({base, *variants}) == len(variants) + 1


@pytest.mark.parametrize(
    "change", [{"force": True}, {"dry_run": True}, {"version": "v1"}, {"require_clean": True}]
)
def test_probe_skips_what_the_memo_cannot_answer(tmp_path: Path, change: dict[str, object]) -> None:
    local = dataclasses.replace(BASE, project=str(tmp_path), tracking_uri="sqlite:////x.db")
    assert hit_memo.probe(local) is not None
    assert hit_memo.probe(dataclasses.replace(local, **change)) is None  # type: ignore[arg-type]
    assert hit_memo.probe(dataclasses.replace(local, project="https://h/o/r.git")) is None


def test_default_store_is_mlflows_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.tracking._tracking_service.utils import get_tracking_uri

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    assert hit_memo.resolve_tracking_uri(None, os.getcwd()) == get_tracking_uri()
    (tmp_path / "mlruns" / "0").mkdir(parents=True)
    (tmp_path / "mlruns" / "0" / "meta.yaml").write_text("name: Default\n")
    assert get_tracking_uri().startswith("file:")
    assert hit_memo.resolve_tracking_uri(None, os.getcwd()) is None


def _finished_run(client: MlflowClient, key: str) -> str:
    run_id = str(client.create_run("0").info.run_id)
    client.set_tag(run_id, TAG_CACHE_KEY, key)
    client.set_terminated(run_id, "FINISHED")
    return run_id


# Each edit of a good memo that must turn the store-confirmed hit into a miss.
CORRUPTIONS: dict[str, Callable[[dict[str, Any], str], str]] = {
    "truncated json": lambda entry, text: text[: len(text) // 2],
    "not an object": lambda entry, text: "[1, 2]",
    "newer memo version": lambda entry, text: json.dumps({**entry, "v": 99}),
    "no cache key": lambda entry, text: json.dumps({**entry, "cache_key": ""}),
    "another store": lambda entry, text: json.dumps({**entry, "tracking_uri": "sqlite:////x.db"}),
    "run the store does not answer": lambda entry, text: json.dumps({**entry, "run_id": "r0"}),
    "input pair malformed": lambda entry, text: json.dumps({**entry, "inputs": {"d": [1, 2]}}),
    "input relative": lambda entry, text: json.dumps(
        {**entry, "inputs": {"d": ["data.csv", entry["inputs"]["d"][1]]}}
    ),
    "input digest stale": lambda entry, text: json.dumps(
        {**entry, "inputs": {"d": [entry["inputs"]["d"][0], "0" * 64]}}
    ),
}


@pytest.fixture(scope="module")
def store_with_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """One real sqlite store (migrations cost seconds) holding a FINISHED run keyed ``k``."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('memo-store') / 'mlflow.db'}"
    return uri, _finished_run(MlflowClient(uri), "k")


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_corrupt_memo_is_the_only_reason_for_a_miss(
    corruption: str,
    store_with_run: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A real store with the FINISHED run the memo names: the pristine memo is a hit.
    tracking_uri, run_id = store_with_run
    monkeypatch.setenv("MLHARNESS_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "data.csv"
    data.write_text("a\n1\n")
    found = hit_memo.Probe("f" * 64, tracking_uri, "t", None)
    inputs = {"d": (str(data), path_digest(data))}
    hit_memo.remember(
        found, tracking_uri, "k", run_id, inputs, planned_tree="t", planned_local_lock=None
    )
    memo = tmp_path / "cache" / "hits" / f"{'f' * 64}.json"
    assert hit_memo.answer(found) == hit_memo.Hit(run_id, "k")
    text = memo.read_text()
    memo.write_text(CORRUPTIONS[corruption](json.loads(text), text))
    assert hit_memo.answer(found) is None
    memo.write_text(text)
    assert hit_memo.answer(found) == hit_memo.Hit(run_id, "k")  # only the edit made it miss


def test_a_plan_that_saw_another_tree_or_store_writes_no_memo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLHARNESS_CACHE_DIR", str(tmp_path))
    found = hit_memo.Probe("e" * 64, "sqlite:////nowhere.db", "t", "lock")
    memo = tmp_path / "hits" / f"{'e' * 64}.json"
    for uri, tree, lock in [
        ("sqlite:////other.db", "t", "lock"),
        (found.tracking_uri, "u", "lock"),
        (found.tracking_uri, "t", "other-lock"),
    ]:
        hit_memo.remember(found, uri, "k", "r", {}, planned_tree=tree, planned_local_lock=lock)
        assert not memo.exists()
    hit_memo.remember(
        found, found.tracking_uri, "k", "r", {}, planned_tree="t", planned_local_lock="lock"
    )
    assert memo.is_file()
