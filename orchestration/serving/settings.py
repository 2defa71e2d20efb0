"""The server's settings, one frozen record shared by the CLI, the operation and every worker.

With ``--workers N`` uvicorn starts N processes that each build the app from this record,
so it round-trips through JSON (``to_json`` / ``from_json``) in an environment variable.

The record is checked through one pydantic model (``extra="forbid"``) built from it: the
bounds of the options a pipeline config also sets (port, workers, batching, queue, request
size) are ``harness.schemas.pipeline_config.ServingConfig``'s own, not re-coded here, and
``from_json`` refuses a key it does not know instead of dropping it.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo

from harness.kernel.errors import ConfigError, ParamError
from harness.schemas.pipeline_config import ServingConfig
from harness.schemas.validation import one_line, problems_of

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_MAX_REQUEST_BYTES",
    "ServeConfig",
    "parse_model_uri",
]

CONFIG_ENV = "MLHARNESS_SERVE_CONFIG"
DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ServeConfig:
    """Everything ``mlharness serve`` was asked to do (the CLI options, checked)."""

    model_uri: str
    port: int
    host: str = "127.0.0.1"
    workers: int = 1
    max_batch_rows: int = 64
    max_batch_delay_ms: float = 2.0
    max_queue_rows: int = 4096
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    reload_interval: float = 10.0
    metrics: bool = True
    tracking_uri: str | None = None
    drift_window_rows: int = 1000
    drift_interval: float = 10.0
    # Set by the operation once the alias is resolved: every worker starts on this version.
    initial_version: str | None = None

    def problems(self) -> list[str]:
        """Every invalid option at once (``--flag: why``)."""
        found = []
        try:
            parse_model_uri(self.model_uri)
        except ParamError as exc:
            found += exc.problems
        try:
            _settings_model().model_validate(asdict(self))
        except ValidationError as exc:
            for error in exc.errors():
                name = str(error["loc"][0]) if error["loc"] else ""
                flag = _FLAGS.get(name, "--" + name.replace("_", "-"))
                found.append(f"{flag}: {error['input']!r}: {one_line(error['msg'])}")
        return found

    def check(self) -> None:
        """Raise ``ParamError`` (exit 2) listing every invalid option."""
        problems = self.problems()
        if problems:
            raise ParamError(problems, hint="see mlharness serve --help")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        """The record written by ``to_json``; anything else (an unknown key, a value out of
        bounds) is a ``ConfigError`` naming the variable it came from."""
        try:
            checked = _settings_model().model_validate_json(text)
        except ValidationError as exc:
            raise ConfigError(CONFIG_ENV, problems_of(exc)) from exc
        return cls(**checked.model_dump())


# The option each field comes from, where it is not ``--field-name``.
_FLAGS = {"model_uri": "MODEL"}
# Fields a pipeline config's ``serving`` section also sets: their bounds are ServingConfig's.
_SHARED = (
    "port",
    "workers",
    "max_batch_rows",
    "max_batch_delay_ms",
    "max_queue_rows",
    "max_request_bytes",
)
# Bounds of the options only ``mlharness serve`` has (0 s reload interval: never reload).
_OWN: dict[str, FieldInfo] = {
    "reload_interval": Field(ge=0),
    "drift_window_rows": Field(ge=1),
    "drift_interval": Field(ge=0),
}
_MODEL: type[BaseModel] | None = None


def _settings_model() -> type[BaseModel]:
    """The pydantic model of :class:`ServeConfig` (built once, from its fields)."""
    global _MODEL
    if _MODEL is None:
        hints = typing.get_type_hints(ServeConfig)
        fields: dict[str, Any] = {}
        for item in dataclasses.fields(ServeConfig):
            default = ... if item.default is dataclasses.MISSING else item.default
            if item.name in _SHARED:
                shared = ServingConfig.model_fields[item.name]
                fields[item.name] = (
                    hints[item.name],
                    FieldInfo.merge_field_infos(shared, default=default),
                )
            elif item.name in _OWN:
                own = _OWN[item.name]
                fields[item.name] = (
                    hints[item.name],
                    FieldInfo.merge_field_infos(own, default=default),
                )
            else:
                fields[item.name] = (hints[item.name], default)
        _MODEL = create_model("ServeSettings", __config__=ConfigDict(extra="forbid"), **fields)
    assert _MODEL is not None
    return _MODEL


def parse_model_uri(uri: str) -> tuple[str, str | None, str | None]:
    """``models:/NAME@ALIAS`` -> (name, alias, None); ``models:/NAME/VERSION`` -> (name, None,
    version). Only an alias is watched for hot reload."""
    prefix = "models:/"
    rest = uri[len(prefix) :] if uri.startswith(prefix) else None
    if rest and "@" in rest and "/" not in rest:
        name, _, alias = rest.partition("@")
        if name and alias:
            return name, alias, None
    if rest and rest.count("/") == 1:
        name, _, version = rest.partition("/")
        if name and version.isdigit():
            return name, None, version
    raise ParamError(
        [f"MODEL: {uri!r} is not models:/NAME@ALIAS or models:/NAME/VERSION"],
        hint="e.g. mlharness serve models:/rf@champion --port 8080",
    )
