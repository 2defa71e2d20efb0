"""Hot alias reload: follow ``models:/NAME@ALIAS`` without a restart.

Every ``--reload-interval`` seconds the alias is resolved. When it points at another
version, that version is loaded and warmed up on its own input example in a background
thread while the current one keeps serving; only a version that loaded and predicted its
example is switched to (one reference assignment in the ``ModelSlot``). A version that
fails is counted in ``mlharness_model_reload_failures_total``, logged, and not tried again
until the alias moves on; the old version keeps serving. A tracking store that cannot be
reached is logged and tried again at the next interval.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from harness.kernel.errors import MlharnessError
from orchestration.serving.model_slot import (
    LoadedModel,
    ModelSlot,
    ModelVersionInfo,
    load_version,
    resolve_version,
)

if TYPE_CHECKING:
    from harness.store.mlflow_boundary import Client

__all__ = ["ReloadOutcome", "Reloader"]

log = logging.getLogger("mlharness.serve")


@dataclass(frozen=True)
class ReloadOutcome:
    """What one check of the alias did."""

    status: Literal["unchanged", "switched", "failed", "unreachable", "skipped"]
    version: str | None = None
    error: str | None = None


class Reloader:
    """Watches one alias and switches the slot to the version it points at."""

    def __init__(
        self,
        slot: ModelSlot,
        client: Client,
        *,
        interval_s: float,
        on_switch: Callable[[LoadedModel, LoadedModel], None],
        on_failure: Callable[[ModelVersionInfo, str], None],
    ) -> None:
        self.slot = slot
        self.client = client
        self.interval_s = interval_s
        self.on_switch = on_switch
        self.on_failure = on_failure
        self._failed: str | None = None
        self._lock = asyncio.Lock()

    async def run(self) -> None:
        """Check the alias forever (cancel the task to stop)."""
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.check()
            except Exception:  # the watcher must survive anything
                log.exception("alias check failed")

    async def check(self) -> ReloadOutcome:
        """Resolve the alias once; load, warm up and switch if it moved."""
        async with self._lock:
            current = self.slot.current
            info = current.info
            if info.alias is None:
                return ReloadOutcome("skipped", info.version)
            try:
                target = await asyncio.to_thread(
                    resolve_version, self.client, info.name, info.alias, None
                )
            except MlharnessError as exc:
                log.warning("cannot resolve models:/%s@%s: %s", info.name, info.alias, exc)
                return ReloadOutcome("unreachable", None, exc.one_line())
            if target.version == info.version:
                self._failed = None
                return ReloadOutcome("unchanged", target.version)
            if target.version == self._failed:
                return ReloadOutcome("skipped", target.version)
            log.info(
                "models:/%s@%s moved to version %s: loading it",
                info.name,
                info.alias,
                target.version,
            )
            try:
                new = await asyncio.to_thread(load_version, target, self.client)
            except Exception as exc:  # never switch to a version that failed
                message = (
                    exc.one_line()
                    if isinstance(exc, MlharnessError)
                    else f"{type(exc).__name__}: {exc}"
                )
                self._failed = target.version
                log.warning(
                    "version %s not switched to, %s keeps serving: %s",
                    target.version,
                    info.version,
                    message,
                )
                self.on_failure(target, message)
                return ReloadOutcome("failed", target.version, message)
            old = self.slot.switch(new)
            self._failed = None
            log.info(
                "switched models:/%s@%s from version %s to %s",
                info.name,
                info.alias,
                old.info.version,
                target.version,
            )
            self.on_switch(old, new)
            return ReloadOutcome("switched", target.version)
