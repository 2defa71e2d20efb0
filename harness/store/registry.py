"""A typed registry at one tracking URI: every ``MlflowClient`` call of this package.

The connection, the HTTP retry/timeout policy and the conversion of MLflow, requests and
SQLAlchemy failures are ``harness.store.mlflow_boundary``'s (one policy for every command: a
store that cannot be reached fails after MLflow's own bounded retries with
``ExternalServiceError``, exit 5). This module adds only what the registry needs on top:

* an answer of the store that is bad input (unknown model, version, alias, run) becomes
  ``RegistryError`` (exit 2) instead of the boundary's ``SourceError``;
* the few answers a caller branches on are returned, not raised: a registered model that
  already exists (the lock's atomic "create if absent"), one that is missing, and the
  unique violation of two concurrent first-time alias sets (retried by ``moves``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from harness.kernel.errors import MlharnessError, RegistryError, SourceError
from harness.store import mlflow_boundary

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import LoggedModel, Run
    from mlflow.entities.model_registry import ModelVersion, RegisteredModel

__all__ = ["Registry", "is_already_exists", "is_unique_violation"]

P = ParamSpec("P")
T = TypeVar("T")

_EXISTS_CODES = frozenset({"RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"})
# A concurrent first-time insert of the same alias/tag row (PostgreSQL or SQLite wording).
_UNIQUE_NEEDLES = ("UniqueViolation", "UNIQUE constraint failed", "duplicate key value")


def is_unique_violation(exc: BaseException) -> bool:
    """True for the HTTP 400 a concurrent first-time alias/tag insert produces."""
    return any(needle in str(exc) for needle in _UNIQUE_NEEDLES)


def is_already_exists(exc: BaseException) -> bool:
    """True when the store refused to create something because it exists (or just did)."""
    code = str(getattr(exc, "error_code", "") or "")
    return code in _EXISTS_CODES or "already exists" in str(exc) or is_unique_violation(exc)


class Registry:
    """A model registry at one tracking URI, with mlharness errors instead of MLflow's."""

    def __init__(self, tracking_uri: str | None = None) -> None:
        self.tracking_uri = mlflow_boundary.resolve_uri(tracking_uri)
        self.client: MlflowClient = mlflow_boundary.client(self.tracking_uri)

    # -- conversion ---------------------------------------------------------------------------
    def convert(self, what: str, exc: BaseException) -> MlharnessError:
        """The boundary's error for ``exc``, bad input as ``RegistryError``."""
        error = mlflow_boundary.convert(self.tracking_uri, what, exc)
        if isinstance(error, SourceError):
            return RegistryError(error.message, hint=error.hint)
        return error

    @contextmanager
    def converted(self, what: str) -> Iterator[None]:
        """Convert the failures of a block of fluent MLflow code (``mlflow.models.evaluate``)."""
        try:
            with mlflow_boundary.converted(self.tracking_uri, what):
                yield
        except SourceError as error:
            raise RegistryError(error.message, hint=error.hint) from error.__cause__

    def call(self, what: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run one MLflow call; every failure of the store becomes an mlharness error."""
        from mlflow.exceptions import MlflowException

        try:
            return self._call_raw(what, fn, *args, **kwargs)
        except MlflowException as exc:
            raise self.convert(what, exc) from exc

    def _call_raw(self, what: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Like :meth:`call`, but let the store's ``MlflowException`` answers through, for
        the methods below that branch on them (exists, not found, unique violation)."""
        from mlflow.exceptions import MlflowException

        try:
            return fn(*args, **kwargs)
        except MlflowException:
            raise
        except Exception:
            with mlflow_boundary.converted(self.tracking_uri, what):
                raise  # converted if it is a library's failure, else re-raised as it is

    def _or_none(
        self, what: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T | None:
        """``fn(...)``, or None when the store answers that it does not exist."""
        from mlflow.exceptions import MlflowException

        try:
            return self._call_raw(what, fn, *args, **kwargs)
        except MlflowException as exc:
            if mlflow_boundary.is_not_found(exc):
                return None
            raise self.convert(what, exc) from exc

    # -- registered models --------------------------------------------------------------------
    def get_model(self, name: str) -> RegisteredModel:
        return self.call(f"find registered model {name!r}", self.client.get_registered_model, name)

    def try_get_model(self, name: str) -> RegisteredModel | None:
        """The registered model, or None when it does not exist."""
        return self._or_none(
            f"find registered model {name!r}", self.client.get_registered_model, name
        )

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

    def create_model(
        self, name: str, tags: dict[str, str] | None = None, description: str | None = None
    ) -> bool:
        """Create a registered model; False (not an error) when it already exists.

        The registry's one atomic "create if absent": of two concurrent creations exactly
        one returns True (the lock in ``lock.py`` is built on this).
        """
        from mlflow.exceptions import MlflowException

        what = f"create registered model {name!r}"
        try:
            self._call_raw(
                what,
                self.client.create_registered_model,
                name,
                tags=tags,
                description=description,
            )
        except MlflowException as exc:
            # Under contention the store can also answer "does not exist": its existence
            # check saw a row that its holder deleted before the read-back. Either way the
            # model was not ours to create; the caller looks again.
            if is_already_exists(exc) or mlflow_boundary.is_not_found(exc):
                return False
            raise self.convert(what, exc) from exc
        return True

    def delete_model(self, name: str, *, missing_ok: bool = False) -> None:
        what = f"delete registered model {name!r}"
        if missing_ok:
            self._or_none(what, self.client.delete_registered_model, name)
        else:
            self.call(what, self.client.delete_registered_model, name)

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
        """Every version of ``name``, newest first; an unknown model is a ``RegistryError``.

        One search; the model itself is looked up only when the search finds nothing (to
        tell a model without versions from one that does not exist).
        """
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
                break
        if not found:
            self.get_model(name)
        return sorted(found, key=lambda v: int(v.version), reverse=True)

    def get_version(self, name: str, version: str | int) -> ModelVersion:
        """One version; an unknown model or version is a ``RegistryError``.

        The model is looked up only when the version is not found, so that "no such
        model" is reported as such.
        """
        what = f"find version {version} of {name!r}"
        found = self._or_none(what, self.client.get_model_version, name, str(version))
        if found is not None:
            return found
        self.get_model(name)
        return self.call(what, self.client.get_model_version, name, str(version))

    def create_version(
        self,
        name: str,
        source: str,
        run_id: str | None,
        model_id: str | None,
        tags: dict[str, str],
        description: str | None,
    ) -> ModelVersion:
        # The SQL store resolves a models:/m-<id> source through the global URI (an mlflow
        # TODO): point it at this store for the call, under the boundary's lock.
        with mlflow_boundary.fluent_uri(self.tracking_uri):
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
        version = self.get_model(name).aliases.get(alias)
        return None if version is None else str(version)

    def set_alias(self, name: str, alias: str, version: str) -> bool:
        """Point ``alias`` at ``version``; False on the unique violation of a concurrent
        first-time set of the same alias (the caller retries), True when done."""
        from mlflow.exceptions import MlflowException

        what = f"set alias {alias!r} of {name!r}"
        try:
            self._call_raw(what, self.client.set_registered_model_alias, name, alias, version)
        except MlflowException as exc:
            if is_unique_violation(exc):
                return False
            raise self.convert(what, exc) from exc
        return True

    def delete_alias(self, name: str, alias: str) -> None:
        self.call(
            f"remove alias {alias!r} of {name!r}",
            self.client.delete_registered_model_alias,
            name,
            alias,
        )

    # -- runs, logged models, artifacts -------------------------------------------------------
    def get_run(self, run_id: str) -> Run:
        return self.call(f"find run {run_id}", self.client.get_run, run_id)

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return self.call(f"find logged model {model_id}", self.client.get_logged_model, model_id)

    def list_artifacts(self, run_id: str, path: str) -> list[str]:
        """The artifact paths directly under ``path`` of a run."""
        listed = self.call(
            f"list artifacts of run {run_id}", self.client.list_artifacts, run_id, path
        )
        return [item.path for item in listed]

    def download_artifact(self, run_id: str, path: str, dst: str) -> str:
        return self.call(
            f"download {path} of run {run_id}",
            self.client.download_artifacts,
            run_id,
            path,
            dst,
        )
