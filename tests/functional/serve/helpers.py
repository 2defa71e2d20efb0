"""Run the serving app in-process (real model, real batcher) and talk to it with httpx."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from orchestration.serving.app import ServerState, build_state, create_app
from orchestration.serving.settings import ServeConfig
from tests.support.serve_server import Store


@contextlib.asynccontextmanager
async def running(
    store: Store, model_uri: str = "models:/rf@champion", **options: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, ServerState]]:
    """The app with its lifespan (batcher, reloader, drift tasks) and a client for it."""
    options.setdefault("reload_interval", 0)  # tests call the reloader themselves
    options.setdefault("drift_interval", 0)
    config = ServeConfig(model_uri=model_uri, port=8080, tracking_uri=store.uri, **options)
    state = build_state(config)
    app = create_app(state)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://serve") as client:
            yield client, state
