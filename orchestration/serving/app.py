"""The FastAPI app: MLflow's routes and answers, batching, metrics, reload, drift.

Routes as MLflow's scoring server: ``GET /ping`` and ``/health`` (``"\\n"``, 200 once the
model is loaded), ``GET /version`` (the MLflow version), ``POST /invocations``; plus
``GET /metrics`` unless metrics are off. Every ``/invocations`` answer carries an
``X-Request-ID`` header (the caller's, if it sent a sane one) and ``X-Model-Version``;
every error body is MLflow's ``{"error_code", "message"}`` plus ``request_id``.

Every route but one goes through FastAPI. ``POST /invocations``, the one route under load,
is a plain ASGI handler that ``ServingApp`` calls before FastAPI's middleware stack, router
and request objects (about 40% of a FastAPI request's cost at one-row requests; the route
is still in FastAPI's table, so a GET answers 405 as before). The per-request metrics are
taken in ``ServingApp.__call__`` for every route alike.

``create_app`` takes a ready ``ServerState`` (the single-process path loads the model
before uvicorn starts, so a bad model is a clean exit 2); ``app_from_environment`` is the
factory each ``--workers`` process calls, reading the config the operation put in the
environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import Response
from starlette.routing import Route

from orchestration.serving.batching import Batcher, QueueFull
from orchestration.serving.metrics import CONTENT_TYPE, ServerMetrics
from orchestration.serving.model_slot import (
    LoadedModel,
    ModelSlot,
    ModelVersionInfo,
    load_version,
    resolve_version,
)
from orchestration.serving.online_drift import OnlineDrift
from orchestration.serving.parsing import InvocationError, parse_request, predictions_json
from orchestration.serving.reload import Reloader
from orchestration.serving.settings import CONFIG_ENV, ServeConfig, parse_model_uri

if TYPE_CHECKING:
    from harness.store.mlflow_boundary import Client

__all__ = [
    "ServerState",
    "ServingApp",
    "app_from_environment",
    "build_state",
    "configure_logging",
    "create_app",
]

log = logging.getLogger("mlharness.serve")

# Bodies larger than this are parsed on a thread, so the event loop keeps serving.
PARSE_ON_THREAD_BYTES = 256 * 1024
# A too-large body is read and dropped up to this multiple of the limit (so the client
# reads its 413 instead of a reset connection); beyond it the connection is cut.
DRAIN_FACTOR = 8
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class ServerState:
    """Everything one server process holds."""

    config: ServeConfig
    slot: ModelSlot
    client: Client
    metrics: ServerMetrics | None
    batcher: Batcher
    reloader: Reloader | None = None
    drift: OnlineDrift | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def serving(self, model: LoadedModel) -> None:
        """Point metrics and drift at a version that starts being served."""
        if self.metrics is not None:
            self.metrics.serving(model, self.config.max_queue_rows)
            self.drift = OnlineDrift(model, self.metrics, window_rows=self.config.drift_window_rows)

    # -- the batcher's observer (called on the predict thread) ------------------------------
    def queue_rows(self, rows: int) -> None:
        if self.metrics is not None:
            self.metrics.queue_rows(rows)

    def predicted(self, model: LoadedModel, data: object, predictions: object, rows: int) -> None:
        data = _as_frame(data)
        if self.metrics is not None:
            self.metrics.predicted(model, data, predictions, rows)
        drift = self.drift
        if drift is not None and drift.model is model:
            drift.add(data)

    # -- the reloader's callbacks ----------------------------------------------------------
    def switched(self, old: LoadedModel, new: LoadedModel) -> None:
        if self.metrics is not None:
            self.metrics.reloaded(new.info)
        self.serving(new)

    def reload_failed(self, info: ModelVersionInfo, message: str) -> None:
        if self.metrics is not None:
            self.metrics.reload_failed()


def _as_frame(data: object) -> object:
    """``instances`` / ``inputs`` columns (a dict of equal-length arrays) as a frame, so the
    feature summaries and the drift window see them too; anything else unchanged."""
    if isinstance(data, dict) and data:
        import pandas as pd

        try:
            return pd.DataFrame(data)
        except (ValueError, TypeError):
            return data
    return data


def configure_logging() -> None:
    """One stderr handler for the server's own log lines (uvicorn configures its own)."""
    logger = logging.getLogger("mlharness.serve")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(
            logging.Formatter("%(asctime)s mlharness.serve %(levelname)s %(message)s")
        )
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def build_state(config: ServeConfig, model: LoadedModel | None = None) -> ServerState:
    """Connect to the store, load the model (unless given) and wire the parts together."""
    from harness.store import mlflow_boundary

    uri = mlflow_boundary.connect(config.tracking_uri)
    client = mlflow_boundary.client(uri)
    if model is None:
        name, alias, version = parse_model_uri(config.model_uri)
        with mlflow_boundary.converted(uri, "resolve the model"):
            if config.initial_version is not None:
                found = resolve_version(client, name, None, config.initial_version)
                info = ModelVersionInfo(
                    found.name, found.version, alias, found.run_id, found.created_s
                )
            else:
                info = resolve_version(client, name, alias, version)
            model = load_version(info, client)
    metrics = ServerMetrics() if config.metrics else None
    batcher = Batcher(
        max_batch_rows=config.max_batch_rows,
        max_batch_delay_s=config.max_batch_delay_ms / 1000.0,
        max_queue_rows=config.max_queue_rows,
    )
    state = ServerState(config, ModelSlot(model), client, metrics, batcher)
    batcher.observer = state
    state.serving(model)
    if model.info.alias is not None and config.reload_interval > 0:
        state.reloader = Reloader(
            state.slot,
            client,
            interval_s=config.reload_interval,
            on_switch=state.switched,
            on_failure=state.reload_failed,
        )
    return state


async def _refresh_drift(state: ServerState) -> None:
    while True:
        await asyncio.sleep(state.config.drift_interval)
        drift = state.drift
        if drift is None:
            continue
        try:
            await asyncio.to_thread(drift.refresh)
        except Exception:  # a failed comparison keeps the last gauges
            log.exception("online drift comparison failed")


class ServingApp(FastAPI):
    """FastAPI, with ``POST /invocations`` answered directly and every answer counted."""

    serving_metrics: ServerMetrics | None = None
    invocations: _Invocations | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fast = (
            self.invocations
            if scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == "/invocations"
            else None
        )
        metrics = self.serving_metrics
        if metrics is None or scope["type"] != "http":
            if fast is not None:
                await fast.answer(scope, receive, send)
            else:
                await super().__call__(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        metrics.request_started()
        try:
            if fast is not None:
                status = await fast.answer(scope, receive, send)
            else:

                async def send_status(message: Message) -> None:
                    nonlocal status
                    if message["type"] == "http.response.start":
                        status = int(message["status"])
                    await send(message)

                await super().__call__(scope, receive, send_status)
        finally:
            metrics.request_done(str(scope.get("path", "")), status, time.perf_counter() - started)


def create_app(state: ServerState) -> ServingApp:
    """The app for one process; its lifespan runs the batcher, the reloader and drift."""
    from mlflow.version import VERSION

    config = state.config

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await state.batcher.start()
        if state.reloader is not None:
            state.tasks.append(asyncio.create_task(state.reloader.run(), name="mlharness-reload"))
        if state.metrics is not None and config.drift_interval > 0:
            state.tasks.append(asyncio.create_task(_refresh_drift(state), name="mlharness-drift"))
        try:
            yield
        finally:
            for task in state.tasks:
                task.cancel()
            for task in state.tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            state.tasks.clear()
            await state.batcher.stop()
            if state.metrics is not None:
                state.metrics.worker_exited()

    app = ServingApp(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.mlharness = state
    app.serving_metrics = state.metrics
    app.invocations = _Invocations(state)
    app.router.routes.append(Route("/invocations", endpoint=app.invocations, methods=["POST"]))

    async def ping() -> Response:
        return Response(content="\n", status_code=200, media_type="application/json")

    app.get("/ping")(ping)
    app.get("/health")(ping)

    @app.get("/version")
    async def version() -> Response:
        return Response(content=VERSION, status_code=200, media_type="application/json")

    if state.metrics is not None:
        metrics = state.metrics

        @app.get("/metrics")
        async def metrics_route() -> Response:
            body = (
                await asyncio.to_thread(metrics.render)
                if metrics.multiprocess
                else metrics.render()
            )
            return Response(content=body, status_code=200, media_type=CONTENT_TYPE)

    return app


class _Disconnected(Exception):
    """The client went away before its body arrived: nothing to answer."""


# The status recorded for a request whose client went away before it was answered.
CLIENT_CLOSED = 499


class _Invocations:
    """``POST /invocations`` as a plain ASGI handler: read, parse, batch, predict, answer.

    Also the ASGI endpoint of FastAPI's ``/invocations`` route (``__call__``), so the route
    table stays complete; ``ServingApp`` calls ``answer`` directly.
    """

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.limit = state.config.max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.answer(scope, receive, send)

    async def answer(self, scope: Scope, receive: Receive, send: Send) -> int:
        """Answer one request; returns the status sent."""
        state = self.state
        supplied = content_type = declared = None
        for name, value in scope["headers"]:
            if name == b"x-request-id" and supplied is None:
                supplied = value.decode("latin-1")
            elif name == b"content-type" and content_type is None:
                content_type = value.decode("latin-1")
            elif name == b"content-length" and declared is None:
                declared = value.decode("latin-1")
        # 128 random bits as 32 hex digits, like uuid4().hex without building a UUID.
        request_id = supplied if supplied and _REQUEST_ID.match(supplied) else os.urandom(16).hex()
        model = state.slot.current
        try:
            with state.batcher.arriving():
                body = await self._read_body(receive, declared)
                if len(body) > PARSE_ON_THREAD_BYTES:
                    parsed = await asyncio.to_thread(parse_request, body, content_type, model)
                else:
                    parsed = parse_request(body, content_type, model)
            predictions = await state.batcher.predict(model, parsed)
            text = predictions_json(predictions, parsed.unwrapped)
        except InvocationError as exc:
            return await _send_error(send, exc, request_id)
        except _Disconnected:
            return CLIENT_CLOSED
        except QueueFull as exc:
            error = InvocationError(
                503,
                "TEMPORARILY_UNAVAILABLE",
                f"the server is overloaded ({exc.queued_rows} rows queued, "
                f"--max-queue-rows {state.config.max_queue_rows}); retry later",
                {"Retry-After": str(exc.retry_after_s)},
            )
            return await _send_error(send, error, request_id)
        except Exception as exc:  # a bug of ours: still one answer with the request id
            log.exception("request %s failed", request_id)
            error = InvocationError(500, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}")
            return await _send_error(send, error, request_id)
        headers = [
            (b"x-request-id", request_id.encode()),
            (b"x-model-version", model.info.version.encode()),
        ]
        await _send_json(send, 200, text.encode(), headers)
        return 200

    async def _read_body(self, receive: Receive, declared: str | None) -> bytes:
        """The body, or 413 when it is larger than ``--max-request-bytes``."""
        limit = self.limit
        too_large = InvocationError(
            413,
            "REQUEST_TOO_LARGE",
            f"the request body is larger than --max-request-bytes {limit}",
        )
        if declared is not None and declared.isdigit() and int(declared) > limit:
            if int(declared) <= DRAIN_FACTOR * limit:  # read and drop: the client reads its 413
                while (await _receive_body(receive))[1]:
                    pass
            raise too_large
        chunk, more = await _receive_body(receive)
        chunks = [chunk]
        size = len(chunk)
        while more:
            chunk, more = await _receive_body(receive)
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        if size > limit:
            raise too_large
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _receive_body(receive: Receive) -> tuple[bytes, bool]:
    """One body chunk and whether more follow."""
    message = await receive()
    if message["type"] == "http.disconnect":
        raise _Disconnected
    return message.get("body", b""), bool(message.get("more_body", False))


async def _send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-length", str(len(body)).encode()),
                (b"content-type", b"application/json"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _send_error(send: Send, error: InvocationError, request_id: str) -> int:
    import json

    headers = [(b"x-request-id", request_id.encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    await _send_json(send, error.status, json.dumps(error.body(request_id)).encode(), headers)
    return error.status


def app_from_environment() -> FastAPI:
    """The factory each ``--workers`` process runs (config from ``MLHARNESS_SERVE_CONFIG``)."""
    configure_logging()
    text = os.environ.get(CONFIG_ENV)
    if not text:
        raise RuntimeError(f"{CONFIG_ENV} is not set; start the server with `mlharness serve`")
    return create_app(build_state(ServeConfig.from_json(text)))
