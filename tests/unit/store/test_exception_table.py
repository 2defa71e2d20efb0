"""The boundary converts store failures by type, through one table that covers every
exception class the store's libraries define and every error code MLflow has.

The failures are real: a closed port, a server that never answers, a sqlite store asked for
what it does not hold, a unique violation raised by sqlite through MLflow's own session
wrapper. Only the REST 400 of a unique violation (whose type stays on the server) is built
by hand, as MLflow's client builds it from the server's JSON.
"""

from __future__ import annotations

import importlib
import inspect
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.kernel.errors import ExitCode, ExternalServiceError, InternalError, SourceError
from harness.store import mlflow_boundary
from harness.store.mlflow_boundary import Failure


def _exception_classes(module_name: str) -> list[type[BaseException]]:
    module = importlib.import_module(module_name)
    return [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, Exception)
        and not issubclass(value, Warning)
        and value.__module__.split(".")[0] == module_name.split(".")[0]
    ]


@pytest.mark.parametrize("module_name", mlflow_boundary.LIBRARY_MODULES)
def test_every_exception_class_of_the_stores_libraries_is_in_the_table(module_name: str) -> None:
    classes = _exception_classes(module_name)
    assert classes, f"{module_name} defines no exception class: is the list out of date?"
    unmapped = sorted(
        c.__qualname__
        for c in classes
        if not mlflow_boundary.mapped(c)
        and f"{module_name}.{c.__qualname__}" not in mlflow_boundary.NEVER_RAISED
    )
    assert unmapped == [], f"{module_name}: not in EXCEPTION_TABLE: {unmapped}"


def test_every_row_of_the_table_names_a_class_that_exists() -> None:
    for rule in mlflow_boundary.EXCEPTION_TABLE:
        module_name, _, name = rule.path.rpartition(".")
        found = getattr(importlib.import_module(module_name), name)
        assert issubclass(found, BaseException), rule.path


def test_every_mlflow_error_code_has_a_meaning() -> None:
    from mlflow.protos.databricks_pb2 import ErrorCode

    assert set(ErrorCode.keys()) == set(mlflow_boundary.CODE_TABLE)


def test_an_exception_outside_the_table_is_not_converted() -> None:
    assert mlflow_boundary.classify(KeyError("x")) is None
    with pytest.raises(KeyError), mlflow_boundary.converted("sqlite:///x.db", "read"):
        raise KeyError("a bug stays a bug (exit 70)")
    assert isinstance(mlflow_boundary.convert("u", "read", KeyError("x")), InternalError)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_closed_port_is_unreachable_exit_5_with_the_root_cause() -> None:
    uri = f"http://user:secret@127.0.0.1:{_free_port()}"
    client = mlflow_boundary.client(uri)
    with pytest.raises(ExternalServiceError) as caught, mlflow_boundary.converted(uri, "list"):
        client.search_experiments()
    assert mlflow_boundary.classify(caught.value.__cause__) is Failure.UNREACHABLE
    assert caught.value.exit_code == ExitCode.EXTERNAL
    line = caught.value.one_line()
    assert "unreachable" in line and "Connection refused" in line
    assert "secret" not in line and "\n" not in line


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        stop = threading.Event()
        accepted: list[socket.socket] = []

        def hold() -> None:
            sock.settimeout(0.2)
            while not stop.is_set():
                try:
                    accepted.append(sock.accept()[0])
                except TimeoutError:
                    continue

        thread = threading.Thread(target=hold, daemon=True)
        thread.start()
        yield int(sock.getsockname()[1])
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()


def test_a_server_that_never_answers_is_unreachable(
    silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A variable the user set wins over the policy: a one-second timeout, no retries.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    client = mlflow_boundary.client(f"http://127.0.0.1:{silent_server}")
    with pytest.raises(Exception) as caught:
        client.search_experiments()
    assert mlflow_boundary.classify(caught.value) is Failure.UNREACHABLE
    error = mlflow_boundary.convert("http://127.0.0.1", "list", caught.value)
    assert isinstance(error, ExternalServiceError)


@pytest.fixture(scope="module")
def sqlite_client(tmp_path_factory: pytest.TempPathFactory) -> mlflow_boundary.Client:
    path = tmp_path_factory.mktemp("store") / "mlflow.db"
    return mlflow_boundary.client(f"sqlite:///{path}")


def test_answers_of_a_sqlite_store_are_classified_by_their_code(
    sqlite_client: mlflow_boundary.Client,
) -> None:
    def failure(call: object, *args: str) -> BaseException:
        assert callable(call)
        with pytest.raises(Exception) as caught:
            call(*args)
        return caught.value

    missing_run = failure(sqlite_client.get_run, "0" * 32)
    assert mlflow_boundary.classify(missing_run) is Failure.NOT_FOUND
    assert mlflow_boundary.is_not_found(missing_run)
    converted = mlflow_boundary.convert("sqlite:///m.db", "find the run", missing_run)
    assert isinstance(converted, SourceError) and converted.exit_code == ExitCode.BAD_INPUT

    name = "table-test-model"
    sqlite_client.create_registered_model(name)
    exists = failure(sqlite_client.create_registered_model, name)
    assert mlflow_boundary.classify(exists) is Failure.ALREADY_EXISTS
    no_alias = failure(sqlite_client.get_model_version_by_alias, name, "champion")
    assert mlflow_boundary.classify(no_alias) is Failure.INVALID


def test_a_unique_violation_through_mlflows_session_wrapper_is_a_conflict(tmp_path: Path) -> None:
    """MLflow's SQL store wraps every SQLAlchemy error as BAD_REQUEST; the sqlite cause,
    not the wrapper's code, says it was a concurrent insert of the same row."""
    import sqlalchemy
    from mlflow.store.db.utils import _get_managed_session_maker
    from sqlalchemy.orm import sessionmaker

    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("CREATE TABLE alias (name TEXT PRIMARY KEY, v TEXT NOT NULL)"))
        conn.execute(sqlalchemy.text("INSERT INTO alias VALUES ('champion', '1')"))
    session_maker = _get_managed_session_maker(sessionmaker(bind=engine), "sqlite")

    def insert(values: str) -> BaseException:
        with pytest.raises(Exception) as caught, session_maker(read_only=False) as session:
            session.execute(sqlalchemy.text(f"INSERT INTO alias VALUES {values}"))
        return caught.value

    duplicate = insert("('champion', '2')")
    assert type(duplicate).__name__ == "MlflowException"
    assert getattr(duplicate, "error_code", None) == "BAD_REQUEST"
    assert mlflow_boundary.classify(duplicate) is Failure.CONFLICT
    # Another constraint (NOT NULL) is an invalid request, not a conflict.
    assert mlflow_boundary.classify(insert("('challenger', NULL)")) is Failure.INVALID


def test_the_one_text_case_a_servers_unique_violation(tmp_path: Path) -> None:
    from mlflow.exceptions import MlflowException, RestException

    message = 'duplicate key value violates unique constraint "registered_model_alias_pk"'
    rest = RestException(
        {"error_code": "BAD_REQUEST", "message": f"(psycopg.errors.UniqueViolation) {message}"}
    )
    assert mlflow_boundary.classify(rest) is Failure.CONFLICT
    # Only a server's answer is read as text: the same words in a local exception are not.
    local = MlflowException(message, error_code=MlflowException("x").error_code)
    assert mlflow_boundary.classify(local) is Failure.FAILED
    other_400 = RestException({"error_code": "BAD_REQUEST", "message": "bad filter"})
    assert mlflow_boundary.classify(other_400) is Failure.INVALID
