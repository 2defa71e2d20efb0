"""Which bodies wait for their batch to be parsed (plain frame payloads only), how a batch's
rows are merged, and how predictions are cut back per request."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from orchestration.serving.parsing import (
    DeferredFrame,
    InvocationError,
    parse_request,
    split_predictions,
)

JSON = "application/json"


def _model() -> Any:
    metadata = SimpleNamespace(_is_signature_from_type_hint=lambda: False)
    return SimpleNamespace(pyfunc=SimpleNamespace(metadata=metadata), input_schema=None)


def _parse(obj: object) -> Any:
    return parse_request(json.dumps(obj).encode(), JSON, _model())


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3, 4]]}},
        {"dataframe_records": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]},
        {"dataframe_records": [{"a": 1, "b": 2}], "params": {"k": 1}},
    ],
)
def test_plain_frame_payloads_are_deferred(body: dict[str, Any]) -> None:
    parsed = _parse(body)
    assert isinstance(parsed.data, DeferredFrame)
    assert parsed.batch_key is not None and parsed.batch_key[2] == ("a", "b")


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]], "index": [7]}},
        {"dataframe_records": [{"a": 1, "b": 2}, {"b": 2, "a": 1}]},  # key order differs
        {"dataframe_records": [{"a": 1}], "params": [1, 2]},  # MLflow reports bad params
        {"instances": [{"a": 1}]},
    ],
)
def test_other_payloads_are_parsed_at_once(body: dict[str, Any]) -> None:
    parsed = _parse(body)
    assert not isinstance(parsed.data, DeferredFrame)


def test_different_column_orders_never_share_a_batch() -> None:
    one = _parse({"dataframe_records": [{"a": 1, "b": 2}]})
    other = _parse({"dataframe_records": [{"b": 2, "a": 1}]})
    assert one.batch_key != other.batch_key


def test_format_errors_are_mlflows() -> None:
    with pytest.raises(InvocationError) as caught:
        _parse({"dataframe_split": {}, "instances": []})
    assert (caught.value.status, caught.value.error_code) == (400, "BAD_REQUEST")
    with pytest.raises(InvocationError) as caught:  # ragged: not deferred, MLflow's error
        _parse({"dataframe_split": {"columns": ["a", "b"], "data": [[1]]}})
    assert caught.value.status == 400
    with pytest.raises(InvocationError) as caught:
        parse_request(b"{", JSON, _model())
    assert caught.value.status == 400
    with pytest.raises(InvocationError) as caught:
        parse_request(b"{}", "application/xml", _model())
    assert caught.value.status == 415


def test_predictions_are_cut_per_request_in_order() -> None:
    sizes = [1, 3, 2]
    array = np.arange(6)
    assert [list(p) for p in split_predictions(array, sizes) or []] == [[0], [1, 2, 3], [4, 5]]
    frame = pd.DataFrame({"p": range(6)})
    parts = split_predictions(frame, sizes) or []
    assert [list(p["p"]) for p in parts] == [[0], [1, 2, 3], [4, 5]]
    assert split_predictions(array, [1, 2]) is None  # row count mismatch: predict alone
    assert split_predictions({"a": 1}, [1]) is None
