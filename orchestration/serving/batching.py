"""Adaptive batching: concurrent requests share one ``predict`` call.

Requests are queued with their row counts. One task takes them in arrival order into a
batch of at most ``max_batch_rows`` rows (rows, not requests: a 50-row request counts 50;
a single larger request is predicted alone) and predicts it on one worker thread, so the
event loop keeps reading and parsing the next requests meanwhile, and they form the next
batch. A request that finds the server idle is predicted at once; the batcher waits up to
``max_batch_delay`` for more rows only while other requests are still arriving (read or
parsed but not yet queued), or right after a batch, for the callers that batch just
answered (clients that send their next request as soon as they have their answer would
otherwise split into ever smaller batches). Without concurrency nothing waits.

Inside a batch, requests with the same columns, dtypes, params and model version are
concatenated into one frame; the predictions are cut back into each caller's rows, in
order. If a concatenated predict fails (say one request fails the signature check), each
of its requests is predicted alone, so only the bad one gets the error. When the queue
already holds ``max_queue_rows`` rows, new requests are refused (503, Retry-After).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from orchestration.serving.model_slot import LoadedModel
from orchestration.serving.parsing import (
    DeferredFrame,
    InvocationError,
    ParsedRequest,
    materialize,
    merge_requests,
    mlflow_answer,
    split_predictions,
)

__all__ = ["BatchObserver", "Batcher", "QueueFull", "predict_data", "predict_one"]

log = logging.getLogger("mlharness.serve")

# A batch that ended less than this long ago (or 5 batch delays) counts as "just now".
RECENT_S = 0.02


class QueueFull(Exception):
    """The queue holds ``max_queue_rows`` rows already: answer 503 and come back later."""

    def __init__(self, queued_rows: int, retry_after_s: int = 1) -> None:
        super().__init__(f"queue full ({queued_rows} rows waiting)")
        self.queued_rows = queued_rows
        self.retry_after_s = retry_after_s


class BatchObserver(Protocol):
    """What the batcher reports (the metrics and the online drift window listen)."""

    def queue_rows(self, rows: int) -> None: ...

    def predicted(
        self, model: LoadedModel, data: object, predictions: object, rows: int
    ) -> None: ...


@dataclass
class _Item:
    model: LoadedModel
    request: ParsedRequest
    future: asyncio.Future[object]
    queued_at: float = field(default_factory=time.perf_counter)

    @property
    def key(self) -> tuple[object, ...] | None:
        if self.request.batch_key is None:
            return None
        return (id(self.model), *self.request.batch_key)


# Flavors whose pyfunc predict is exactly "enforce the signature, then the wrapped model's
# own predict" (mlflow.sklearn's _SklearnModelWrapper.predict ignores params).
_DIRECT_FLAVORS = frozenset({"mlflow.sklearn"})


def predict_data(
    model: LoadedModel, data: object, params: dict[str, object] | None, checked: bool
) -> object:
    """``model.predict``, skipping MLflow's signature enforcement for checked input.

    ``checked`` data is a frame of exactly the signature's double columns in order, every
    value a number (``parsing._double_frame``): enforcing the schema on it returns the same
    values, but costs about 1 ms per call whatever its rows (it rebuilds the frame column by
    column), as much as a fifth of a batched predict. For a flavor whose pyfunc predict is
    only that enforcement plus the model's own predict, the model's predict is called
    directly; anything else goes through ``PyFuncModel.predict``.
    """
    if checked and not params:
        pyfunc = model.pyfunc
        if getattr(pyfunc, "loader_module", None) in _DIRECT_FLAVORS:
            direct = getattr(pyfunc, "_predict_fn", None)
            if direct is not None:
                return direct(data)
    return model.predict(data, params)


def predict_one(model: LoadedModel, request: ParsedRequest) -> object:
    """Predict one request alone: MLflow errors keep their status, anything else is a 500."""
    try:
        return predict_data(model, request.data, request.params, request.checked)
    except Exception as exc:
        answer = mlflow_answer(exc)  # an MLflow error keeps its code and status
        if answer is not None:
            raise answer from exc
        # raised inside the model: a server-side failure
        log.warning("%s raised in predict: %s: %s", model.info.uri, type(exc).__name__, exc)
        raise InvocationError(
            500,
            "INTERNAL_ERROR",
            "Encountered an unexpected error while evaluating the model: "
            f"{type(exc).__name__}: {exc}",
        ) from exc


class Batcher:
    """The queue, the batching task and the one predict thread."""

    def __init__(
        self,
        *,
        max_batch_rows: int,
        max_batch_delay_s: float,
        max_queue_rows: int,
        observer: BatchObserver | None = None,
    ) -> None:
        self.max_batch_rows = max_batch_rows
        self.max_batch_delay_s = max_batch_delay_s
        self.max_queue_rows = max_queue_rows
        self.observer = observer
        self._queue: collections.deque[_Item] = collections.deque()
        self._queued_rows = 0
        self._arriving = 0
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlharness-predict")
        self._task = asyncio.create_task(self._run(), name="mlharness-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while self._queue:
            item = self._queue.popleft()
            if not item.future.done():
                item.future.set_exception(
                    InvocationError(503, "TEMPORARILY_UNAVAILABLE", "the server is stopping")
                )
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    @contextlib.contextmanager
    def arriving(self) -> Iterator[None]:
        """Mark a request as on its way (being read or parsed): the batcher may wait for it."""
        self._arriving += 1
        try:
            yield
        finally:
            self._arriving -= 1
            if self._wake is not None:
                self._wake.set()

    async def predict(self, model: LoadedModel, request: ParsedRequest) -> object:
        """Queue one parsed request and wait for its own predictions."""
        if self._loop is None or self._wake is None:
            raise RuntimeError("Batcher.start() was not called")
        if self._queued_rows and self._queued_rows + request.rows > self.max_queue_rows:
            raise QueueFull(self._queued_rows)
        future: asyncio.Future[object] = self._loop.create_future()
        self._queue.append(_Item(model, request, future))
        self._queued_rows += request.rows
        self._report_queue()
        self._wake.set()
        return await future

    def _report_queue(self) -> None:
        if self.observer is not None:
            self.observer.queue_rows(self._queued_rows)

    def _take(self, batch: list[_Item], rows: int) -> int:
        """Move queued requests into the batch while they fit; returns the batch's rows."""
        while self._queue:
            item = self._queue[0]
            if batch and rows + item.request.rows > self.max_batch_rows:
                break
            self._queue.popleft()
            if item.future.done():  # the caller went away
                self._queued_rows -= item.request.rows
                continue
            batch.append(item)
            rows += item.request.rows
            self._queued_rows -= item.request.rows
            if rows >= self.max_batch_rows:
                break
        return rows

    async def _run(self) -> None:
        assert self._wake is not None and self._loop is not None
        last_end = -math.inf
        last_callers = 0
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch: list[_Item] = []
            rows = self._take(batch, 0)
            now = time.perf_counter()
            # Callers just answered by the last batch come back within moments (clients
            # that wait for their answer): wait for them too, but only if that batch ended
            # just now. A request reaching an idle server is predicted at once.
            recent = now - last_end <= max(RECENT_S, 5 * self.max_batch_delay_s)
            expected = last_callers if recent else 0
            deadline = now + self.max_batch_delay_s
            while (
                rows < self.max_batch_rows
                and not self._queue
                and (self._arriving > 0 or len(batch) < expected)
            ):
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), left)
                rows = self._take(batch, rows)
            self._report_queue()
            if batch:
                await self._loop.run_in_executor(self._executor, self._predict_batch, batch)
                last_end = time.perf_counter()
                # How many callers are active: those just answered plus those who queued
                # meanwhile.
                last_callers = len(batch) + len(self._queue)

    # -- on the predict thread ------------------------------------------------------------
    def _predict_batch(self, batch: list[_Item]) -> None:
        groups: dict[object, list[_Item]] = {}
        for index, item in enumerate(batch):
            key = item.key if item.key is not None else ("alone", index)
            groups.setdefault(key, []).append(item)
        for items in groups.values():
            self._predict_group(items)

    def _predict_group(self, items: list[_Item]) -> None:
        model = items[0].model
        if len(items) == 1:
            self._predict_alone(items[0])
            return
        import pandas as pd

        sizes = [item.request.rows for item in items]
        try:
            checked = False
            if isinstance(items[0].request.data, DeferredFrame):
                frame, checked = merge_requests([item.request for item in items], model)
            else:
                frames = [item.request.data for item in items]
                frame = pd.concat(
                    [f for f in frames if isinstance(f, pd.DataFrame)], ignore_index=True
                )
            predictions = predict_data(model, frame, items[0].request.params, checked)
            parts = split_predictions(predictions, sizes)
        except Exception:  # one request spoils the batch: find it by predicting each alone
            parts = None
        if parts is None:
            for item in items:
                self._predict_alone(item)
            return
        # Observed before answering, so /metrics counts every answer a caller has seen.
        self._observe(model, frame, predictions, sum(sizes))
        for item, part in zip(items, parts, strict=True):
            self._resolve(item, part, None)

    def _predict_alone(self, item: _Item) -> None:
        try:
            request = materialize(item.request, item.model)
            predictions = predict_one(item.model, request)
        except InvocationError as exc:
            self._resolve(item, None, exc)
            return
        self._observe(item.model, request.data, predictions, request.rows)
        self._resolve(item, predictions, None)

    def _resolve(self, item: _Item, result: object, error: BaseException | None) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(_settle, item.future, result, error)

    def _observe(self, model: LoadedModel, data: object, predictions: object, rows: int) -> None:
        if self.observer is None:
            return
        try:
            self.observer.predicted(model, data, predictions, rows)
        except Exception:  # metrics must never fail a prediction
            log.exception("recording metrics for a batch failed")


def _settle(future: asyncio.Future[object], result: object, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
