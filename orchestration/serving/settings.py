"""The server's settings, one frozen record shared by the CLI, the operation and every worker.

With ``--workers N`` uvicorn starts N processes that each build the app from this record,
so it round-trips through JSON (``to_json`` / ``from_json``) in an environment variable.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

from harness.kernel.errors import ParamError

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
        if not 1 <= self.port <= 65535:
            found.append(f"--port: {self.port} is not a TCP port (1-65535)")
        checks = [
            ("--workers", self.workers, 1),
            ("--max-batch-rows", self.max_batch_rows, 1),
            ("--max-queue-rows", self.max_queue_rows, 1),
            ("--max-request-bytes", self.max_request_bytes, 1),
            ("--drift-window-rows", self.drift_window_rows, 1),
        ]
        found += [f"{flag}: {value} is below {low}" for flag, value, low in checks if value < low]
        floats = [
            ("--max-batch-delay-ms", self.max_batch_delay_ms, 0.0),
            ("--reload-interval", self.reload_interval, 0.0),
            ("--drift-interval", self.drift_interval, 0.0),
        ]
        found += [f"{flag}: {value} is negative" for flag, value, low in floats if value < low]
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
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


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
