"""The tracking store: one URI for this process and the runs it launches, errors converted.

A relative sqlite URI (MLflow's default ``sqlite:///mlflow.db``) is made absolute, because
MLflow runs the entry point in the project directory, where a relative path would point
to another database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from harness.errors import ExternalServiceError, MlharnessError, SourceError

_HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3", "MLFLOW_HTTP_REQUEST_TIMEOUT": "60"}


def absolute_uri(uri: str) -> str:
    """``sqlite:///relative.db`` -> ``sqlite:////abs/relative.db``; others unchanged."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri[len(prefix) :].startswith("/"):
        return prefix + os.path.abspath(uri[len(prefix) :])
    return uri


def use(uri: str | None) -> str:
    """Point this process and its children at ``uri`` (default: MLflow's default)."""
    for name, value in _HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    import mlflow

    resolved = absolute_uri(
        uri or os.environ.get("MLFLOW_TRACKING_URI") or mlflow.get_tracking_uri()
    )
    mlflow.set_tracking_uri(resolved)
    os.environ["MLFLOW_TRACKING_URI"] = resolved
    return resolved


def client(uri: str) -> Any:
    """An MlflowClient for ``uri``."""
    from mlflow.tracking import MlflowClient

    with store_errors(uri):
        return MlflowClient(uri)


@contextmanager
def store_errors(uri: str) -> Iterator[None]:
    """Turn tracking-store failures into mlharness errors naming the store."""
    from mlflow.exceptions import MlflowException
    from requests.exceptions import RequestException

    from harness.source import redact

    try:
        yield
    except MlharnessError:
        raise
    except MlflowException as exc:
        code = str(getattr(exc, "error_code", ""))
        if code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}:
            raise SourceError(redact(exc.message.splitlines()[0])) from exc
        raise ExternalServiceError(
            f"tracking store {redact(uri)}: {redact(exc.message.splitlines()[0])}"
        ) from exc
    except (RequestException, ConnectionError) as exc:
        raise ExternalServiceError(
            f"tracking store {redact(uri)} is unreachable: {redact(str(exc))[:200]}",
            hint="is the server running? check --tracking-uri",
        ) from exc
