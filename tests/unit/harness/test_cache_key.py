"""The cache key follows code, parameters, environment lock and input content only."""

from __future__ import annotations

import shutil
from pathlib import Path

from harness.run.environment import env_file_lock
from harness.run.launch import plan
from harness.run.run_cache import cache_key
from harness.run.source import checkout
from harness.run.spec import build_run_spec
from tests.support.git_servers import commit_change, git, make_repo
from tests.support.paths import PROJECTS


def _key(project: Path, params: dict[str, str], entry_point: str = "main") -> str:
    with checkout(str(project), None) as source:
        spec = build_run_spec(source.project_dir, entry_point, params, env_manager="local")
        return plan(source, spec).cache_key


def test_key_changes_with_code_and_with_a_parameter(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"rf": PROJECTS / "rf"})
    base = _key(repo / "rf", {"n_estimators": "5"})
    assert _key(repo / "rf", {"n_estimators": "5"}) == base
    assert _key(repo / "rf", {"n_estimators": "6"}) != base
    # An explicit default is the same run as an omitted one.
    assert _key(repo / "rf", {"n_estimators": "5", "random_state": "42"}) == base
    commit_change(repo, "rf/rf_project/data.py", "\n# a code change\n")
    assert _key(repo / "rf", {"n_estimators": "5"}) != base


def test_key_is_the_same_for_the_same_commit_checked_out_elsewhere(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"rf": PROJECTS / "rf"})
    other = tmp_path / "elsewhere" / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(other))
    assert _key(repo / "rf", {}) == _key(other / "rf", {})
    # Files written by running the code do not count.
    (other / "rf" / "rf_project" / "__pycache__").mkdir()
    (other / "rf" / "rf_project" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    assert _key(repo / "rf", {}) == _key(other / "rf", {})


def test_key_changes_with_an_input_files_content_not_its_location(tmp_path: Path) -> None:
    data = tmp_path / "a" / "data.csv"
    data.parent.mkdir()
    data.write_text("x,target\n1,0\n")
    params = {"model_uri": "runs:/r/model", "data": str(data)}
    base = _key(PROJECTS / "rf", params, "evaluate")
    moved = tmp_path / "b" / "data.csv"
    moved.parent.mkdir()
    shutil.copy(data, moved)
    assert _key(PROJECTS / "rf", {**params, "data": str(moved)}, "evaluate") == base
    data.write_text("x,target\n2,1\n")
    assert _key(PROJECTS / "rf", params, "evaluate") != base


def test_key_changes_with_the_environment_lock(tmp_path: Path) -> None:
    args = {"tree_digest": "t", "entry_point": "main", "parameters": {"a": "1"}, "inputs": {}}
    assert cache_key(lock_digest="l1", **args) != cache_key(lock_digest="l2", **args)
    # For virtualenv/uv runs the lock is the env file MLflow builds from.
    project = tmp_path / "p"
    shutil.copytree(PROJECTS / "rf", project)
    before = env_file_lock(project, "virtualenv")
    assert env_file_lock(project, "uv") != before
    env_file = project / "python_env.yaml"
    env_file.write_text(env_file.read_text().replace("pandas==3.1.1", "pandas==3.1.0"))
    assert env_file_lock(project, "virtualenv") != before
