"""The boundary to MLflow: one typed wrapper around ``MlflowClient``.

Every registry call in this package goes through :class:`Registry`, which converts
``MlflowException`` and connection failures into mlharness errors: an unknown model,
version or alias becomes ``RegistryError`` (exit 2); a tracking server that cannot be
reached becomes ``ExternalServiceError`` (exit 5) after a few bounded retries. MLflow's own
HTTP retry loop (7 retries with exponential back-off, minutes against a closed port) is
turned down so that our bound is the one that holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from harness import mlflow_boundary
from harness.kernel.errors import ExternalServiceError
from harness.mlflow_boundary import fluent_uri
from registry_tools.errors import RegistryError

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import LoggedModel, Run
    from mlflow.entities.model_registry import ModelVersion, RegisteredModel

T = TypeVar("T")

RETRY_DELAYS_S = (0.5, 1.0, 2.0)
_TRANSIENT_HTTP = {429, 502, 503, 504}
_CONNECTION_NEEDLES = (
    "Max retries exceeded",
    "Failed to establish a new connection",
    "Connection refused",
    "Connection aborted",
    "Read timed out",
    "RemoteDisconnected",
)
# A concurrent first-time insert of the same alias/tag row (PostgreSQL or SQLite wording).
_UNIQUE_NEEDLES = ("UniqueViolation", "UNIQUE constraint failed", "duplicate key value")


def default_tracking_uri() -> str:
    """MLflow's own default (``MLFLOW_TRACKING_URI`` or sqlite ``mlflow.db`` in the cwd)."""
    import mlflow

    return str(mlflow.get_tracking_uri())


def is_unique_violation(exc: BaseException) -> bool:
    """True for the HTTP 400 a concurrent first-time alias/tag insert produces."""
    return any(needle in str(exc) for needle in _UNIQUE_NEEDLES)


def _is_transient(exc: BaseException) -> bool:
    text = str(exc)
    if any(needle in text for needle in _CONNECTION_NEEDLES):
        return True
    status = getattr(exc, "get_http_status_code", None)
    code = getattr(exc, "error_code", "")
    if code == "TEMPORARILY_UNAVAILABLE":
        return True
    json_body = getattr(exc, "json", None)
    return bool(json_body is not None and callable(status) and status() in _TRANSIENT_HTTP)


def _error_code(exc: BaseException) -> str:
    return str(getattr(exc, "error_code", "") or "")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class Registry:
    """A model registry at one tracking URI, with mlharness errors instead of MLflow's."""

    def __init__(self, tracking_uri: str | None = None) -> None:
        self.tracking_uri = mlflow_boundary.resolve_uri(tracking_uri)
        self.client: MlflowClient = mlflow_boundary.client(self.tracking_uri)

    # -- the one place exceptions are converted ---------------------------------------------
    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one MLflow call: retry transient failures, convert every failure."""
        from mlflow.exceptions import MlflowException

        try:
            return self.call_raw(what, fn, *args, **kwargs)
        except MlflowException as exc:
            raise self.convert(what, exc) from exc

    def call_raw(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Like :meth:`call`, but let a non-transient ``MlflowException`` through unconverted.

        For callers that branch on MLflow's error (exists, not found, unique violation).
        """
        from mlflow.exceptions import MlflowException

        for attempt in range(len(RETRY_DELAYS_S) + 1):
            try:
                return fn(*args, **kwargs)
            except (MlflowException, OSError) as exc:
                if _is_transient(exc) and attempt < len(RETRY_DELAYS_S):
                    time.sleep(RETRY_DELAYS_S[attempt])
                    continue
                if _is_transient(exc) or isinstance(exc, OSError):
                    raise self.convert(what, exc) from exc
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def convert(self, what: str, exc: BaseException) -> Exception:
        if _is_transient(exc):
            return ExternalServiceError(
                f"tracking server {self.tracking_uri} unreachable while trying to {what} "
                f"(after {len(RETRY_DELAYS_S) + 1} attempts)",
                hint="check --tracking-uri and that the server is running",
            )
        if _error_code(exc) in {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"}:
            return RegistryError(_first_line(exc), hint=f"tracking URI {self.tracking_uri}")
        if isinstance(exc, OSError):
            return ExternalServiceError(f"cannot {what}: {_first_line(exc)}")
        return RegistryError(f"cannot {what}: {_first_line(exc)}")

    @contextmanager
    def converted(self, what: str) -> Iterator[None]:
        """Convert exceptions of a block of fluent-API code (no retries: it is not idempotent)."""
        from mlflow.exceptions import MlflowException

        try:
            yield
        except (MlflowException, OSError) as exc:
            raise self.convert(what, exc) from exc

    # -- registered models --------------------------------------------------------------------
    def get_model(self, name: str) -> RegisteredModel:
        return self.call(f"find registered model {name!r}", self.client.get_registered_model, name)

    def try_get_model(self, name: str) -> RegisteredModel | None:
        """The registered model, or None when it does not exist."""
        from mlflow.exceptions import MlflowException

        what = f"find registered model {name!r}"
        try:
            return self.call_raw(what, self.client.get_registered_model, name)
        except MlflowException as exc:
            if _error_code(exc) == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise self.convert(what, exc) from exc

    def list_models(self) -> list[RegisteredModel]:
        models: list[RegisteredModel] = []
        token: str | None = None
        while True:
            page = self.call(
                "list registered models",
                self.client.search_registered_models,
                max_results=1000,
                page_token=token,
            )
            models.extend(page)
            token = page.token
            if not token:
                return models

    def create_model(self, name: str) -> RegisteredModel:
        return self.call(
            f"create registered model {name!r}", self.client.create_registered_model, name
        )

    def delete_model(self, name: str) -> None:
        self.call(f"delete registered model {name!r}", self.client.delete_registered_model, name)

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        self.call(f"tag model {name!r}", self.client.set_registered_model_tag, name, key, value)

    def delete_model_tag(self, name: str, key: str) -> None:
        self.call(
            f"remove tag {key!r} of model {name!r}",
            self.client.delete_registered_model_tag,
            name,
            key,
        )

    def describe_model(self, name: str, description: str) -> None:
        self.call(
            f"describe model {name!r}", self.client.update_registered_model, name, description
        )

    # -- versions -----------------------------------------------------------------------------
    def versions(self, name: str) -> list[ModelVersion]:
        """Every version of ``name``, newest first (the model must exist)."""
        self.get_model(name)
        found: list[ModelVersion] = []
        token: str | None = None
        escaped = name.replace("'", "\\'")
        while True:
            page = self.call(
                f"list versions of {name!r}",
                self.client.search_model_versions,
                f"name='{escaped}'",
                max_results=10_000,
                page_token=token,
            )
            found.extend(page)
            token = page.token
            if not token:
                return sorted(found, key=lambda v: int(v.version), reverse=True)

    def get_version(self, name: str, version: str | int) -> ModelVersion:
        self.get_model(name)
        return self.call(
            f"find version {version} of {name!r}", self.client.get_model_version, name, str(version)
        )

    def create_version(
        self,
        name: str,
        source: str,
        run_id: str | None,
        model_id: str | None,
        tags: dict[str, str],
        description: str | None,
    ) -> ModelVersion:
        with fluent_uri(self.tracking_uri):
            return self.call(
                f"register {source} as {name!r}",
                self.client.create_model_version,
                name,
                source,
                run_id=run_id,
                tags=tags or None,
                description=description,
                await_creation_for=0,
                model_id=model_id,
            )

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self.call(
            f"tag version {version} of {name!r}",
            self.client.set_model_version_tag,
            name,
            version,
            key,
            value,
        )

    def delete_version_tag(self, name: str, version: str, key: str) -> None:
        self.call(
            f"remove tag {key!r} of version {version} of {name!r}",
            self.client.delete_model_version_tag,
            name,
            version,
            key,
        )

    def describe_version(self, name: str, version: str, description: str) -> None:
        self.call(
            f"describe version {version} of {name!r}",
            self.client.update_model_version,
            name,
            version,
            description,
        )

    # -- aliases ------------------------------------------------------------------------------
    def holder(self, name: str, alias: str) -> str | None:
        """The version holding ``alias`` (as a string), or None when nobody holds it."""
        model = self.get_model(name)
        version = model.aliases.get(alias)
        return None if version is None else str(version)

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.call(
            f"set alias {alias!r} of {name!r}",
            self.client.set_registered_model_alias,
            name,
            alias,
            version,
        )

    def set_alias_raw(self, name: str, alias: str, version: str) -> None:
        """Set an alias, letting a unique violation through for the caller to retry."""
        self.call_raw(
            f"set alias {alias!r} of {name!r}",
            self.client.set_registered_model_alias,
            name,
            alias,
            version,
        )

    def delete_alias(self, name: str, alias: str) -> None:
        self.call(
            f"remove alias {alias!r} of {name!r}",
            self.client.delete_registered_model_alias,
            name,
            alias,
        )

    # -- runs and logged models ---------------------------------------------------------------
    def get_run(self, run_id: str) -> Run:
        return self.call(f"find run {run_id}", self.client.get_run, run_id)

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return self.call(f"find logged model {model_id}", self.client.get_logged_model, model_id)

    def download_artifact(self, run_id: str, path: str, dst: str) -> str:
        return self.call(
            f"download {path} of run {run_id}",
            self.client.download_artifacts,
            run_id,
            path,
            dst,
        )
