"""The MLflow boundary: the one place that points MLflow at a store, sets its HTTP retry
policy, and turns MLflow, requests, SQLAlchemy and git failures into mlharness errors.

Like httpx mapping httpcore's exceptions at one seam, nothing above this module needs to
know which library failed: it sees ``SourceError`` (exit 2, the thing asked for does not
exist or is invalid) or ``ExternalServiceError`` (exit 5, the store failed after retries).

The retry policy, stated once (the README repeats it): MLflow retries a failed HTTP request
``MAX_RETRIES`` times on connection errors and on 429/5xx answers, with urllib3's exponential
back-off (no wait before the first retry, then ``BACKOFF_FACTOR`` s doubling, plus up to
``BACKOFF_JITTER_S`` of jitter), and gives one request ``REQUEST_TIMEOUT_S`` seconds. A closed
port therefore fails in about 3 s, inside the 10 s bound. A variable the user set in the
environment wins over the default.

MLflow keeps the tracking URI in a process-global; the one place that must switch it for a
block (``fluent_uri``: the SQL registry store resolves a logged model through the global URI,
an mlflow TODO) holds a lock, so two threads working on two stores cannot see each other's.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from harness.kernel.errors import ExternalServiceError, MlharnessError, SourceError

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = [
    "HTTP_POLICY",
    "absolute_uri",
    "apply_http_policy",
    "client",
    "connect",
    "convert",
    "converted",
    "fluent_uri",
    "is_not_found",
    "resolve_uri",
]

MAX_RETRIES = 2
BACKOFF_FACTOR = 1  # MLflow reads it as an int
BACKOFF_JITTER_S = 0.5
REQUEST_TIMEOUT_S = 30
HTTP_POLICY: dict[str, str] = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(MAX_RETRIES),
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": str(BACKOFF_FACTOR),
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": str(BACKOFF_JITTER_S),
    "MLFLOW_HTTP_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT_S),
}
# MLflow error codes that mean "what you asked for is not there / not valid" (bad input).
_NOT_FOUND_CODES = frozenset({"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"})
_INVALID_CODES = frozenset({"INVALID_PARAMETER_VALUE", "RESOURCE_ALREADY_EXISTS", "BAD_REQUEST"})
_CONNECTION_NEEDLES = (
    "Max retries exceeded",
    "Failed to establish a new connection",
    "Connection refused",
    "Connection aborted",
    "Read timed out",
    "RemoteDisconnected",
    "Name or service not known",
)
_GLOBAL_URI_LOCK = threading.RLock()


# MLflow prints a "View run" link on stdout when a run ends against a server, which would
# break a command's --json document; the commands print their own results.
OUTPUT_POLICY: dict[str, str] = {"MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}


def apply_http_policy() -> None:
    """Set the retry and output policy in the environment (inherited by the runs MLflow
    launches); a variable the user set wins."""
    for name, value in {**HTTP_POLICY, **OUTPUT_POLICY}.items():
        os.environ.setdefault(name, value)


def absolute_uri(uri: str) -> str:
    """``sqlite:///relative.db`` -> ``sqlite:////abs/relative.db``; others unchanged.

    MLflow runs an entry point in the project directory, where a relative sqlite path would
    name another database.
    """
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri[len(prefix) :].startswith("/"):
        return prefix + os.path.abspath(uri[len(prefix) :])
    return uri


def resolve_uri(uri: str | None) -> str:
    """The store ``uri`` names: the option, else ``MLFLOW_TRACKING_URI``, else MLflow's
    default (sqlite ``mlflow.db`` in the working directory); relative sqlite made absolute."""
    import mlflow

    return absolute_uri(uri or os.environ.get("MLFLOW_TRACKING_URI") or mlflow.get_tracking_uri())


def connect(uri: str | None) -> str:
    """Point this process and the runs it launches at ``uri``; returns the resolved URI."""
    apply_http_policy()
    import mlflow

    resolved = resolve_uri(uri)
    mlflow.set_tracking_uri(resolved)
    os.environ["MLFLOW_TRACKING_URI"] = resolved
    return resolved


def client(uri: str) -> MlflowClient:
    """An ``MlflowClient`` for tracking and registry at ``uri`` (the policy applied)."""
    apply_http_policy()
    from mlflow import MlflowClient

    with converted(uri, "connect"):
        return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _first_line(exc: BaseException) -> str:
    from harness.kernel.redaction import redact

    text = str(getattr(exc, "message", None) or exc).strip().splitlines()
    return redact(text[0]) if text else type(exc).__name__


def is_not_found(exc: BaseException) -> bool:
    """True for MLflow's "resource does not exist" answers."""
    return str(getattr(exc, "error_code", "") or "") in _NOT_FOUND_CODES


def _is_connection_failure(exc: BaseException) -> bool:
    return any(needle in str(exc) for needle in _CONNECTION_NEEDLES)


def convert(uri: str, what: str, exc: BaseException) -> MlharnessError:
    """The mlharness error for a failure of ``what`` against the store at ``uri``."""
    from harness.kernel.redaction import redact

    store = redact(uri)
    if isinstance(exc, MlharnessError):
        return exc
    try:
        from mlflow.exceptions import MlflowException
    except ImportError:  # pragma: no cover - mlflow is a dependency
        MlflowException = ()  # type: ignore[assignment,misc]
    if isinstance(exc, MlflowException) and not _is_connection_failure(exc):
        code = str(getattr(exc, "error_code", "") or "")
        if code in _NOT_FOUND_CODES or code in _INVALID_CODES:
            return SourceError(f"cannot {what}: {_first_line(exc)}", hint=f"store {store}")
        return ExternalServiceError(f"tracking store {store}: cannot {what}: {_first_line(exc)}")
    return ExternalServiceError(
        f"tracking store {store} is unreachable: cannot {what}: {_first_line(exc)[:200]}",
        hint="is the server running? check --tracking-uri",
    )


def _external_exceptions() -> tuple[type[BaseException], ...]:
    """The exception types of the libraries behind the store, imported lazily."""
    found: list[type[BaseException]] = [ConnectionError, TimeoutError]
    from mlflow.exceptions import MlflowException
    from requests.exceptions import RequestException

    found += [MlflowException, RequestException]
    try:
        from sqlalchemy.exc import SQLAlchemyError

        found.append(SQLAlchemyError)
    except ImportError:  # pragma: no cover - sqlalchemy comes with mlflow
        pass
    return tuple(found)


@contextmanager
def converted(uri: str, what: str = "complete the request") -> Iterator[None]:
    """Convert failures of a block of MLflow calls against ``uri`` into mlharness errors."""
    try:
        yield
    except MlharnessError:
        raise
    except Exception as exc:
        if isinstance(exc, _external_exceptions()):
            raise convert(uri, what, exc) from exc
        raise


@contextmanager
def fluent_uri(uri: str) -> Iterator[None]:
    """Point MLflow's global (fluent) tracking and registry URI at ``uri`` for a block.

    Needed where MLflow ignores the client's URI: ``mlflow.models.evaluate`` speaks only
    fluent, and the SQL registry store resolves a ``models:/m-<id>`` source through a fresh
    ``MlflowClient()`` (global URI; a TODO in mlflow's sqlalchemy_store). The block holds a
    process-wide lock, so threads on different stores take turns instead of crossing.
    """
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    with _GLOBAL_URI_LOCK:
        # Save the raw globals and env vars, not get_*_uri(): those resolve the defaults,
        # and setting a resolved default back would pin it for the rest of the process.
        saved = (tracking_utils._tracking_uri, registry_utils._registry_uri)
        names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
        saved_env = {k: os.environ.get(k) for k in names}
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        try:
            yield
        finally:
            tracking_utils._tracking_uri, registry_utils._registry_uri = saved
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
