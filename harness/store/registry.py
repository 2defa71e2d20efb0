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

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from harness.kernel.errors import MlharnessError, RegistryError, SourceError
from harness.store import mlflow_boundary
from harness.store.mlflow_boundary import Failure
from harness.store.model_requirements import warn_if_unsatisfied
from harness.store.skops_import import import_skops

if TYPE_CHECKING:
    from mlflow.entities import LoggedModel, Run
    from mlflow.entities.model_registry import ModelVersion, RegisteredModel
    from mlflow.pyfunc import PyFuncModel

    from harness.store.mlflow_boundary import Client

__all__ = ["Registry", "is_already_exists", "is_unique_violation"]

P = ParamSpec("P")
T = TypeVar("T")


def is_unique_violation(exc: BaseException) -> bool:
    """True for a concurrent first-time insert of the same alias/tag row."""
    return mlflow_boundary.classify(exc) is Failure.CONFLICT


def is_already_exists(exc: BaseException) -> bool:
    """True when the store refused to create something because it exists (or just did)."""
    return mlflow_boundary.classify(exc) in {Failure.ALREADY_EXISTS, Failure.CONFLICT}


class Registry:
    """A model registry at one tracking URI, with mlharness errors instead of MLflow's."""

    def __init__(self, tracking_uri: str | None = None, *, client: Client | None = None) -> None:
        self.tracking_uri = mlflow_boundary.resolve_uri(tracking_uri)
        self.client: Client = client or mlflow_boundary.client(self.tracking_uri)

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
        try:
            return fn(*args, **kwargs)
        except MlharnessError:
            raise
        except Exception as exc:
            if mlflow_boundary.classify(exc) is None:
                raise
            raise self.convert(what, exc) from exc

    def _answer(
        self,
        what: str,
        accepted: frozenset[Failure],
        fn: Callable[P, T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T | Failure:
        """``fn(...)``, or the store's answer when it is one of ``accepted`` (the methods
        below branch on: exists, not found, unique violation); any other failure of the
        store is converted, and an exception the boundary does not know passes unchanged."""
        try:
            return fn(*args, **kwargs)
        except MlharnessError:
            raise
        except Exception as exc:
            kind = mlflow_boundary.classify(exc)
            if kind is None:
                raise
            if kind in accepted:
                return kind
            raise self.convert(what, exc) from exc

    def _or_none(
        self, what: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T | None:
        """``fn(...)``, or None when the store answers that it does not exist."""
        found = self._answer(what, frozenset({Failure.NOT_FOUND}), fn, *args, **kwargs)
        return None if isinstance(found, Failure) else found

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
        what = f"create registered model {name!r}"
        # Under contention the store can also answer "does not exist": its existence check
        # saw a row that its holder deleted before the read-back. Either way the model was
        # not ours to create; the caller looks again.
        found = self._answer(
            what,
            frozenset({Failure.ALREADY_EXISTS, Failure.CONFLICT, Failure.NOT_FOUND}),
            self.client.create_registered_model,
            name,
            tags=tags,
            description=description,
        )
        return not isinstance(found, Failure)

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

    def version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at; an unknown model or alias is a ``RegistryError``."""
        return self.call(
            f"find models:/{name}@{alias}", self.client.get_model_version_by_alias, name, alias
        )

    def resolve_uri(self, model_uri: str) -> ModelVersion:
        """The version a ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` URI names."""
        from mlflow.store.artifact.utils.models import get_model_name_and_version

        if not model_uri.startswith("models:/"):
            raise RegistryError(f"{model_uri}: expected models:/name@alias or models:/name/version")
        name, version = self.call(
            f"resolve {model_uri}", get_model_name_and_version, self.client, model_uri
        )
        return self.get_version(str(name), str(version))

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
        what = f"set alias {alias!r} of {name!r}"
        found = self._answer(
            what,
            frozenset({Failure.CONFLICT}),
            self.client.set_registered_model_alias,
            name,
            alias,
            version,
        )
        return not isinstance(found, Failure)

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

    def list_files(self, run_id: str, path: str) -> list[str]:
        """The artifact files (not directories) directly under ``path`` of a run."""
        listed = self.call(
            f"list artifacts of run {run_id}", self.client.list_artifacts, run_id, path
        )
        return [item.path for item in listed if not item.is_dir]

    def log_artifact(self, run_id: str, local: str, artifact_dir: str) -> None:
        self.call(
            f"log {local} to run {run_id}", self.client.log_artifact, run_id, local, artifact_dir
        )

    def download_uri(self, artifact_uri: str, dst: str) -> str:
        """Download a ``runs:/`` or ``models:/`` artifact URI of this store into ``dst``."""
        import mlflow.artifacts

        with mlflow_boundary.fluent_uri(self.tracking_uri):
            return self.call(
                f"download {artifact_uri}",
                mlflow.artifacts.download_artifacts,
                artifact_uri=artifact_uri,
                dst_path=dst,
                tracking_uri=self.tracking_uri,
            )

    def load_pyfunc(self, model_uri: str) -> PyFuncModel:
        """``mlflow.pyfunc.load_model`` of a ``models:/`` (or ``runs:/``) URI of this store.

        A failure of the store is converted (unknown version: ``RegistryError``; store
        unreachable: ``ExternalServiceError``); a failure of the model's own loader (a
        missing flavor, a broken pickle) passes unchanged for the caller to judge.
        """
        with mlflow_boundary.fluent_uri(self.tracking_uri):
            return self.call(f"load {model_uri}", _load_pyfunc, model_uri)

    def download_artifact(self, run_id: str, path: str, dst: str) -> str:
        return self.call(
            f"download {path} of run {run_id}",
            self.client.download_artifacts,
            run_id,
            path,
            dst,
        )


def _load_pyfunc(model_uri: str) -> PyFuncModel:
    """``mlflow.pyfunc.load_model`` of the model downloaded once: skops imported the cheap
    way first when the model is a skops-serialized scikit-learn model (its ``MLmodel`` says
    so; see ``skops_import``), and MLflow's environment warnings checked the cheap way (see
    ``model_requirements``: ~0.85 CPU-s less per load)."""
    from pathlib import Path

    import mlflow.artifacts
    import mlflow.pyfunc
    from mlflow.models import Model

    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri))
    meta = Model.load(str(local / "MLmodel"))
    if uses_skops(meta.flavors):
        import_skops()
    warn_if_unsatisfied(local, (meta.flavors.get("python_function") or {}).get("python_version"))
    return cast("PyFuncModel", mlflow.pyfunc.load_model(str(local), suppress_warnings=True))


def uses_skops(flavors: Mapping[str, Any]) -> bool:
    """Whether a model with these ``MLmodel`` flavors is loaded with skops."""
    sklearn = flavors.get("sklearn") or {}
    return bool(sklearn.get("serialization_format") == "skops")
