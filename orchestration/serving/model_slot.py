"""The model being served: one loaded version, its metadata, and the atomic switch.

A ``LoadedModel`` is immutable once built; the ``ModelSlot`` holds a reference to the
current one. A switch replaces that reference in one assignment, so a request sees either
the old version or the new one, never a mix: each request keeps the ``LoadedModel`` it was
parsed for until it is answered, and the old version is freed when its last request ends.
"""

from __future__ import annotations

import atexit
import inspect
import logging
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.kernel.errors import MlharnessError, SourceError
from harness.store.mlflow_boundary import first_line
from harness.store.registry import Registry
from registry_tools.errors import RegistryError

if TYPE_CHECKING:
    from mlflow.pyfunc import PyFuncModel
    from mlflow.types import Schema

    from harness.store.mlflow_boundary import Client
    from monitoring.profile import Profile

__all__ = [
    "LoadedModel",
    "ModelSlot",
    "ModelVersionInfo",
    "load_version",
    "resolve_version",
]

log = logging.getLogger("mlharness.serve")


@dataclass(frozen=True)
class ModelVersionInfo:
    """Which registered version is (or is to be) served."""

    name: str
    version: str
    alias: str | None
    run_id: str
    created_s: float = 0.0  # registration time (unix seconds); 0: unknown

    @property
    def uri(self) -> str:
        """The version's own URI (stable even when the alias moves on)."""
        return f"models:/{self.name}/{self.version}"


@dataclass(frozen=True)
class LoadedModel:
    """A pyfunc model ready to predict, with what the server needs to know about it."""

    info: ModelVersionInfo
    pyfunc: PyFuncModel
    input_schema: Schema | None
    feature_names: tuple[str, ...]
    profile: Profile | None
    takes_params: bool

    def predict(self, data: object, params: dict[str, object] | None) -> object:
        """Predict as MLflow's scoring server does: ``params`` only if predict accepts them."""
        if self.takes_params:
            return self.pyfunc.predict(data, params=params)
        return self.pyfunc.predict(data)

    def warm_up(self) -> None:
        """Predict the model's logged input example once (raises what predict raises)."""
        example = self.pyfunc.input_example
        if example is not None:
            self.predict(example, None)


class ModelSlot:
    """The current ``LoadedModel``; ``switch`` replaces it atomically."""

    def __init__(self, model: LoadedModel) -> None:
        self._model = model
        self._lock = threading.Lock()

    @property
    def current(self) -> LoadedModel:
        return self._model

    def switch(self, model: LoadedModel) -> LoadedModel:
        """Serve ``model`` from now on; returns the version it replaced."""
        with self._lock:
            old, self._model = self._model, model
        return old


def _registry(client: Client) -> Registry:
    return Registry(client.tracking_uri, client=client)


def resolve_version(
    client: Client, name: str, alias: str | None, version: str | None
) -> ModelVersionInfo:
    """The version ``alias`` (or the fixed ``version``) points at right now; an unknown
    model, alias or version is a ``RegistryError`` (exit 2), an unreachable store exit 5."""
    registry = _registry(client)
    try:
        if alias is not None:
            found = registry.version_by_alias(name, alias)
        else:
            found = registry.get_version(name, str(version))
    except RegistryError as exc:
        where = f"models:/{name}@{alias}" if alias else f"models:/{name}/{version}"
        detail = first_line(exc.__cause__) if exc.__cause__ is not None else exc.message
        raise RegistryError(
            f"{where}: {detail}",
            hint="check the name and alias with `mlharness registry versions NAME`",
        ) from exc
    created_s = float(found.creation_timestamp or 0) / 1000
    return ModelVersionInfo(name, str(found.version), alias, str(found.run_id or ""), created_s)


def load_version(info: ModelVersionInfo, client: Client, *, warm_up: bool = True) -> LoadedModel:
    """Load a version, warm it up on its input example, and find its reference profile.

    Raises ``SourceError`` when the model cannot be loaded or fails on its own example:
    such a version is never served (a store that fails stays exit 5).
    """
    registry = _registry(client)
    try:
        pyfunc = registry.load_pyfunc(info.uri)
    except MlharnessError:
        raise
    except Exception as exc:  # any loader failure: the version cannot be served
        raise SourceError(f"{info.uri}: cannot load the model: {_first_line(exc)}") from exc
    schema = pyfunc.metadata.get_input_schema()  # type: ignore[no-untyped-call]
    names: tuple[str, ...] = ()
    if schema is not None and schema.has_input_names():
        names = tuple(str(n) for n in schema.input_names())
    model = LoadedModel(
        info=info,
        pyfunc=pyfunc,
        input_schema=schema,
        feature_names=names,
        profile=_load_profile(info, registry),
        takes_params="params" in inspect.signature(pyfunc.predict).parameters,
    )
    if warm_up:
        try:
            model.warm_up()
        except Exception as exc:  # the model fails on its own example: never serve it
            raise SourceError(
                f"{info.uri}: warm-up on the input example failed: {_first_line(exc)}"
            ) from exc
    return model


def _load_profile(info: ModelVersionInfo, registry: Registry) -> Profile | None:
    """The reference profile ``mlharness monitor profile --model`` logged for this version
    (served without one, with a warning, when it cannot be read)."""
    from monitoring.model_data import PROFILE_TAG
    from monitoring.profile import load_profile

    try:
        tags = registry.get_version(info.name, info.version).tags or {}
    except MlharnessError as exc:
        log.warning("%s: cannot read the version's tags: %s", info.uri, exc.one_line())
        return None
    uri = tags.get(PROFILE_TAG)
    if not uri:
        log.info(
            "%s has no reference profile: the online drift gauges stay 0 "
            "(make one with `mlharness monitor profile --model %s`)",
            info.uri,
            info.uri,
        )
        return None
    directory, _, filename = uri.rpartition("/")
    # The payload is read lazily while serving: the copy lives until the process exits.
    where = tempfile.mkdtemp(prefix="mlharness-serve-profile-")
    atexit.register(shutil.rmtree, where, ignore_errors=True)
    try:
        local = registry.download_uri(directory, where)
        return load_profile(Path(local) / filename)
    except (MlharnessError, OSError) as exc:
        detail = exc.one_line() if isinstance(exc, MlharnessError) else first_line(exc)
        log.warning(
            "%s: cannot read its profile %s: %s; drift gauges stay 0", info.uri, uri, detail
        )
        return None


def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {first_line(exc)}"
