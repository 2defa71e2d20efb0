"""One mlharness cache: ``$MLHARNESS_CACHE_DIR``, else ``$XDG_CACHE_HOME/mlharness``, else
``~/.cache/mlharness``, and every kind of cached thing in a folder of its own under it."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.kernel.cache import cache_home
from harness.run.recorded_env import envs_dir
from harness.run.run_memo import memo_dir
from harness.run.source import cache_root
from harness.store.new_store import template_path
from harness.sweep.sweep_memo import _memo_file
from orchestration.demo.steps.airflow import migrated_template


def _folders() -> list[Path]:
    stores = [template_path().parent, migrated_template().parent]
    return [cache_root(), memo_dir(), _memo_file("x").parent, envs_dir(), *stores]


def test_the_cache_home_and_its_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MLHARNESS_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert cache_home() == tmp_path / "home" / ".cache" / "mlharness"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_home() == tmp_path / "xdg" / "mlharness"
    monkeypatch.setenv("MLHARNESS_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_home() == tmp_path / "mine"


@pytest.mark.parametrize("variable", ["MLHARNESS_CACHE_DIR", "XDG_CACHE_HOME"])
def test_every_cached_kind_has_its_own_folder_in_the_cache(
    variable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLHARNESS_CACHE_DIR", raising=False)
    monkeypatch.setenv(variable, str(tmp_path))
    folders = _folders()
    assert [f.parent for f in folders] == [cache_home()] * len(folders)
    assert [f.name for f in folders] == ["git", "hits", "sweeps", "envs", "mlflow", "airflow"]
