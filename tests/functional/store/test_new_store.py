"""A new sqlite tracking store opened through the MLflow boundary is a copy of an empty
store MLflow migrated once (``harness.store.new_store``), kept in the mlharness cache.

What must hold: the copy is the store MLflow makes itself (same tables, indexes, revision,
and a ``Default`` experiment whose artifacts go under the opening process's working
directory); the template is made once and then only copied; an existing store is never
touched; URIs it does not handle are left to MLflow; callers racing for the same new store
get one store, with nothing left beside it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from harness.store import mlflow_boundary
from harness.store.new_store import ensure_store, template_path
from tests.support.stores import schema_of

pytestmark = pytest.mark.functional


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache of its own, so that this test makes the template."""
    monkeypatch.setenv("MLHARNESS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_new_store_is_a_copy_of_the_template_and_what_mlflow_makes(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # MLflow puts Default's artifacts under the cwd
    native = MlflowClient(f"sqlite:///{work / 'native.db'}")
    native.search_experiments()
    native.search_registered_models()

    first = mlflow_boundary.client(f"sqlite:///{work / 'first.db'}")
    template = template_path()
    assert template.is_file() and template.is_relative_to(cache)
    made = template.stat()
    second = mlflow_boundary.client(f"sqlite:///{work / 'second.db'}")
    again = template.stat()
    assert (again.st_ino, again.st_mtime_ns) == (made.st_ino, made.st_mtime_ns)  # copied only

    for client, name in ((first, "first.db"), (second, "second.db")):
        client.search_registered_models()
        assert schema_of(work / name) == schema_of(work / "native.db")
        default = client.get_experiment("0")
        assert default.artifact_location == native.get_experiment("0").artifact_location
        run = client.create_run("0")
        assert run.info.artifact_uri.startswith(str(work / "mlruns" / "0"))
    assert sorted(p.name for p in work.iterdir()) == [
        "first.db",
        "native.db",
        "second.db",
    ]  # no temporary file left beside them (mlruns/ appears with the first artifact)


def test_an_existing_store_is_never_touched(tmp_path: Path, cache: Path) -> None:
    existing = tmp_path / "mlflow.db"
    existing.write_bytes(b"not a database of ours")
    assert ensure_store(f"sqlite:///{existing}") is False
    assert existing.read_bytes() == b"not a database of ours"


@pytest.mark.parametrize(
    "uri",
    [
        "sqlite:///relative.db",  # the boundary makes these absolute before
        "sqlite:///{tmp}/missing-dir/mlflow.db",  # MLflow reports the directory
        "sqlite:///{tmp}/mlflow.db?timeout=20",  # a query: MLflow's to read
        "sqlite:///{tmp}/with%20escape.db",
        "postgresql://user@127.0.0.1:1/db",
        "http://127.0.0.1:1",
    ],
)
def test_uris_it_does_not_handle_are_left_to_mlflow(
    uri: str, tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert ensure_store(uri.format(tmp=tmp_path)) is False
    assert [p for p in tmp_path.iterdir() if p != cache] == []  # no store, no temporary file


def test_callers_racing_for_one_new_store_get_one_store(tmp_path: Path, cache: Path) -> None:
    database = tmp_path / "stores" / "mlflow.db"
    database.parent.mkdir()
    answers: list[bool] = []
    start = threading.Barrier(4)

    def open_it() -> None:
        start.wait()
        answers.append(ensure_store(f"sqlite:///{database}"))

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [False, False, False, True]
    assert [p.name for p in database.parent.iterdir()] == ["mlflow.db"]
    client = mlflow_boundary.client(f"sqlite:///{database}")
    assert [e.name for e in client.search_experiments()] == ["Default"]
