"""The serve operation: check the options, resolve the model, run uvicorn.

``plan`` does everything short of serving (options checked, port free, alias resolved to
a version) and is what ``--dry-run`` prints. ``serve`` then loads that version (one
process: before uvicorn starts, so a model that cannot load is a clean exit 2, not a
crashed worker) and blocks until the server is stopped (SIGINT/SIGTERM: uvicorn drains
the requests in flight). With ``--workers N`` uvicorn starts N processes that each load
the same version and watch the alias themselves; their metrics meet in a private
``PROMETHEUS_MULTIPROC_DIR`` that is removed at exit.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from harness.kernel.errors import SourceError
from harness.store import mlflow_boundary
from orchestration.serving.model_slot import resolve_version
from orchestration.serving.settings import CONFIG_ENV, ServeConfig, parse_model_uri

__all__ = ["ServePlan", "ServeResult", "plan", "serve"]

GRACEFUL_SHUTDOWN_S = 10


@dataclass(frozen=True)
class ServePlan:
    """What ``serve`` will do."""

    config: ServeConfig
    name: str
    alias: str | None
    version: str
    run_id: str
    tracking_uri: str

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.config.port}"

    def to_dict(self) -> dict[str, Any]:
        options = dataclasses.asdict(self.config)
        options.pop("initial_version", None)
        return {
            "model_uri": self.config.model_uri,
            "name": self.name,
            "alias": self.alias,
            "version": self.version,
            "run_id": self.run_id,
            "url": self.url,
            "tracking_uri": self.tracking_uri,
            "reload": self.alias is not None and self.config.reload_interval > 0,
            "routes": ["/invocations", "/ping", "/health", "/version"]
            + (["/metrics"] if self.config.metrics else []),
            "options": options,
        }


@dataclass(frozen=True)
class ServeResult:
    """How a server run ended."""

    plan: ServePlan
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {**self.plan.to_dict(), "served_seconds": round(self.seconds, 3)}


def _bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket now, so a port in use is bad input, not a crashed server."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SourceError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pick another --port or --host",
        ) from exc
    return sock


def plan(config: ServeConfig) -> ServePlan:
    """Check every option, check the port is free, resolve the alias to a version."""
    config.check()
    _bind(config.host, config.port).close()
    name, alias, version = parse_model_uri(config.model_uri)
    uri = mlflow_boundary.connect(config.tracking_uri)
    client = mlflow_boundary.client(uri)
    with mlflow_boundary.converted(uri, "resolve the model"):
        info = resolve_version(client, name, alias, version)
    return ServePlan(config, name, alias, info.version, info.run_id, uri)


def serve(config: ServeConfig) -> ServeResult:
    """Serve until stopped (blocks); returns how long it served."""
    import uvicorn

    from orchestration.serving.app import build_state, configure_logging, create_app

    served = plan(config)
    config = dataclasses.replace(config, initial_version=served.version)
    configure_logging()
    options: dict[str, Any] = {
        "log_level": "info",
        "access_log": False,
        "lifespan": "on",
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S,
    }
    started = time.monotonic()
    if config.workers == 1:
        state = build_state(config)  # loads the model: a failure is an mlharness error
        sock = _bind(config.host, config.port)
        server = uvicorn.Server(uvicorn.Config(create_app(state), **options))
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()
        return ServeResult(served, time.monotonic() - started)
    metrics_dir = tempfile.mkdtemp(prefix="mlharness-serve-metrics-")
    saved = {k: os.environ.get(k) for k in (CONFIG_ENV, "PROMETHEUS_MULTIPROC_DIR")}
    os.environ[CONFIG_ENV] = config.to_json()
    if config.metrics:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run(
            "orchestration.serving.app:app_from_environment",
            factory=True,
            host=config.host,
            port=config.port,
            workers=config.workers,
            **options,
        )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return ServeResult(served, time.monotonic() - started)
