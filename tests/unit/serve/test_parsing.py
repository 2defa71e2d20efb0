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


def _schema_model(*specs: tuple[str, str]) -> Any:
    from mlflow.types import ColSpec, Schema

    schema = Schema([ColSpec(kind, name) for name, kind in specs])
    metadata = SimpleNamespace(_is_signature_from_type_hint=lambda: False)
    return SimpleNamespace(pyfunc=SimpleNamespace(metadata=metadata), input_schema=schema)


def _mlflows_frame(body: dict[str, Any], model: Any) -> pd.DataFrame:
    from mlflow.pyfunc import scoring_server

    parsed = scoring_server._parse_json_data(json.loads(json.dumps(body)), None, model.input_schema)
    return parsed.data  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "rows",
    [
        [[1, 2.5], [3, -0.0]],  # ints and floats mixed
        [[1, 2], [3, 4]],  # only ints: MLflow builds int64 and casts to float64
        [[0.1, 1e308], [2**53 + 1, -7.25]],  # rounding of a large int, a huge double
        [[float("nan"), float("inf")], [1.0, 2.0]],  # JSON's NaN / Infinity literals
    ],
)
def test_the_fast_numeric_parse_builds_mlflows_frame(rows: list[list[Any]]) -> None:
    from orchestration.serving.parsing import materialize, merge_frames

    model = _schema_model(("a", "double"), ("b", "double"))
    split = {"dataframe_split": {"columns": ["a", "b"], "data": rows}}
    records = {"dataframe_records": [{"a": r[0], "b": r[1]} for r in rows]}
    for body in (split, records):
        parsed = parse_request(json.dumps(body).encode(), JSON, model)
        assert isinstance(parsed.data, DeferredFrame)
        expected = _mlflows_frame(body, model)
        ours = materialize(parsed, model).data
        pd.testing.assert_frame_equal(ours, expected)
        merged = merge_frames([parsed, parsed], model)
        pd.testing.assert_frame_equal(merged, pd.concat([expected, expected], ignore_index=True))


@pytest.mark.parametrize(
    ("columns", "rows", "specs"),
    [
        (["a", "b"], [["1.5", 2]], (("a", "double"), ("b", "double"))),  # a string
        (["a", "b"], [[None, 2]], (("a", "double"), ("b", "double"))),  # a null
        (["a", "b"], [[True, 2]], (("a", "double"), ("b", "double"))),  # a bool
        (["a", "b"], [[10**400, 2]], (("a", "double"), ("b", "double"))),  # too large
        (["b", "a"], [[1, 2]], (("a", "double"), ("b", "double"))),  # another order
        (["a", "b"], [[1, 2]], (("a", "double"), ("b", "long"))),  # not all double
    ],
)
def test_anything_else_takes_mlflows_own_parse(
    columns: list[str], rows: list[list[Any]], specs: tuple[tuple[str, str], ...]
) -> None:
    from orchestration.serving.parsing import materialize

    model = _schema_model(*specs)
    body = {"dataframe_split": {"columns": columns, "data": rows}}
    parsed = parse_request(json.dumps(body).encode(), JSON, model)
    try:
        expected: object = _mlflows_frame(body, model)
    except Exception as exc:  # MLflow refuses it: so must we, with MLflow's message
        with pytest.raises(InvocationError) as caught:
            materialize(parsed, model)
        assert type(exc).__name__ in caught.value.message or str(exc)[:40] in str(
            caught.value.message
        )
        return
    pd.testing.assert_frame_equal(materialize(parsed, model).data, expected)


@pytest.mark.parametrize(
    "predictions",
    [
        np.array([0, 1, 1]),
        np.array([0.25, float("nan"), -1e300, float("inf")]),
        np.array([[0.1, 0.9], [1.0, 0.0]], dtype=np.float32),
        np.array([True, False]),
        np.array(["a", "b"]),  # not numbers: MLflow's own writer
        pd.DataFrame({"p": [1, 2]}),
    ],
)
def test_answers_are_mlflows_text(predictions: Any) -> None:
    from io import StringIO

    from mlflow.pyfunc import scoring_server

    from orchestration.serving.parsing import predictions_json

    expected = StringIO()
    scoring_server.predictions_to_json(predictions, expected)
    assert predictions_json(predictions) == expected.getvalue()
