"""The batcher on its own: each caller gets its own rows in order, batches respect the row
limit, a failing request fails alone, an idle request is predicted at once, a full queue
refuses new requests. The model is a plain function of the rows (so any mix-up of rows
between callers shows), wrapped as the server's LoadedModel."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import numpy as np
import pandas as pd
import pytest

from orchestration.serving.batching import Batcher, QueueFull
from orchestration.serving.model_slot import LoadedModel, ModelVersionInfo
from orchestration.serving.parsing import InvocationError, ParsedRequest


class RowModel:
    """predict: 2*x + 1 per row; raises when a row has x < 0; records each call's size."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict(self, data: pd.DataFrame, params: Any = None) -> np.ndarray:
        self.calls.append(len(data))
        if (data["x"] < 0).any():
            raise ValueError("negative x")
        return (data["x"].to_numpy() * 2 + 1).astype(np.int64)

    @property
    def input_example(self) -> None:
        return None


def _model(inner: RowModel) -> LoadedModel:
    return LoadedModel(
        info=ModelVersionInfo("m", "1", "a", "run"),
        pyfunc=inner,  # type: ignore[arg-type]
        input_schema=None,
        feature_names=("x",),
        profile=None,
        takes_params=True,
    )


def _request(values: list[int]) -> ParsedRequest:
    frame = pd.DataFrame({"x": values})
    key = (("x",), tuple(str(t) for t in frame.dtypes), None)
    return ParsedRequest(frame, None, len(frame), key)


async def _with_batcher(body: Any, **options: Any) -> Any:
    batcher = Batcher(
        max_batch_rows=options.get("max_batch_rows", 16),
        max_batch_delay_s=options.get("delay", 0.002),
        max_queue_rows=options.get("max_queue_rows", 10_000),
    )
    await batcher.start()
    try:
        return await body(batcher)
    finally:
        await batcher.stop()


def test_each_caller_gets_exactly_its_rows_in_order() -> None:
    inner = RowModel()
    model = _model(inner)
    rng = random.Random(0)
    requests = [[rng.randrange(1000) for _ in range(rng.randint(1, 12))] for _ in range(200)]

    async def body(batcher: Batcher) -> list[Any]:
        return await asyncio.gather(*[batcher.predict(model, _request(v)) for v in requests])

    answers = asyncio.run(_with_batcher(body, max_batch_rows=16))
    for values, answer in zip(requests, answers, strict=True):
        assert list(answer) == [2 * v + 1 for v in values]
    assert sum(inner.calls) == sum(len(v) for v in requests)
    assert max(inner.calls) <= 16  # rows, not requests: no request here exceeds the limit
    # Batched: requests average 6.5 rows, predict calls carry well above that.
    assert sum(inner.calls) / len(inner.calls) > 9


def test_a_request_larger_than_the_limit_is_predicted_alone() -> None:
    inner = RowModel()
    model = _model(inner)

    async def body(batcher: Batcher) -> list[Any]:
        return await asyncio.gather(
            batcher.predict(model, _request([1] * 50)), batcher.predict(model, _request([2]))
        )

    big, small = asyncio.run(_with_batcher(body, max_batch_rows=8))
    assert list(big) == [3] * 50 and list(small) == [5]
    assert 50 in inner.calls


def test_a_failing_request_inside_a_batch_fails_alone() -> None:
    inner = RowModel()
    model = _model(inner)
    values = [[i, i + 1] for i in range(20)]
    values[7] = [3, -1]

    async def body(batcher: Batcher) -> list[Any]:
        return await asyncio.gather(
            *[batcher.predict(model, _request(v)) for v in values], return_exceptions=True
        )

    answers = asyncio.run(_with_batcher(body, max_batch_rows=64))
    for i, answer in enumerate(answers):
        if i == 7:
            assert isinstance(answer, InvocationError) and answer.status == 500
            assert "negative x" in answer.message
        else:
            assert list(answer) == [2 * v + 1 for v in values[i]]


def test_an_idle_request_does_not_wait_for_the_batch_delay() -> None:
    inner = RowModel()
    model = _model(inner)

    async def body(batcher: Batcher) -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await batcher.predict(model, _request([1]))
        return loop.time() - started

    # A 30 s delay would be waited if the batcher waited without concurrency.
    assert asyncio.run(_with_batcher(body, delay=30.0)) < 15
    assert inner.calls == [1]


def test_a_full_queue_refuses_new_requests() -> None:
    inner = RowModel()
    model = _model(inner)

    async def body(batcher: Batcher) -> list[Any]:
        return await asyncio.gather(
            *[batcher.predict(model, _request([i] * 4)) for i in range(20)],
            return_exceptions=True,
        )

    answers = asyncio.run(_with_batcher(body, max_queue_rows=8, max_batch_rows=4))
    refused = [a for a in answers if isinstance(a, QueueFull)]
    served = [a for a in answers if not isinstance(a, BaseException)]
    assert refused and served
    assert len(refused) + len(served) == 20


@pytest.mark.parametrize("limit", [1, 3])
def test_batches_never_exceed_the_row_limit(limit: int) -> None:
    inner = RowModel()
    model = _model(inner)

    async def body(batcher: Batcher) -> list[Any]:
        return await asyncio.gather(*[batcher.predict(model, _request([i])) for i in range(30)])

    answers = asyncio.run(_with_batcher(body, max_batch_rows=limit))
    assert [list(a) for a in answers] == [[2 * i + 1] for i in range(30)]
    assert max(inner.calls) <= limit
