"""Request bodies in, predictions out: MLflow's own scoring protocol, wrapped.

The JSON and CSV decoding, the ``dataframe_split`` / ``dataframe_records`` / ``instances`` /
``inputs`` formats, ``params``, the casting to the model's signature and the JSON answer all
come from ``mlflow.pyfunc.scoring_server`` itself, so a request gets the same data frame and
the same error as under ``mlflow models serve``. MLflow's ``invocations`` function parses and
predicts in one call; to batch, the server needs the two halves apart, so this module calls
the same helpers ``invocations`` calls (``_decode_json_input`` and ``_parse_json_data`` are
underscored but are what MLflow's server and ``mlflow models predict`` use) and leaves the
predict to the batcher. The content-type rules (UTF-8 only, no other parameters, 415 for an
unknown type) are MLflow's too.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO, StringIO
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.exceptions import MlflowException
    from mlflow.types import Schema

    from orchestration.serving.model_slot import LoadedModel

__all__ = [
    "ByColumnsIndex",
    "DeferredFrame",
    "InvocationError",
    "ParsedRequest",
    "error_from_mlflow",
    "materialize",
    "merge_frames",
    "merge_requests",
    "mlflow_answer",
    "parse_request",
    "predictions_json",
    "rows_of",
    "split_predictions",
]


@dataclass(frozen=True)
class DeferredFrame:
    """A ``dataframe_split`` / ``dataframe_records`` body whose parsing waits for its batch.

    MLflow's parser casts a frame to the signature column by column, which costs the same
    for one row as for a hundred: parsing a batch's rows in one call instead of one call per
    request is what makes batching pay. Only plain payloads are deferred (split: ``columns``
    and rows of that length; records: every record with the same keys), so the merged
    payload is a valid frame exactly when each part is.
    """

    decoded: dict[str, object]  # the whole body, for parsing this request alone
    orient: str  # "split" | "records"
    columns: tuple[str, ...]
    rows: list[object]


@dataclass(frozen=True)
class ParsedRequest:
    """One request's model input, ready to predict (alone or in a batch)."""

    data: object
    params: dict[str, object] | None
    rows: int
    # Requests with equal keys can be concatenated into one predict; None: predict alone.
    batch_key: tuple[object, ...] | None
    unwrapped: bool = False  # MLflow's unified LLM format: answer without "predictions"
    # The data is a frame of exactly the signature's double columns, in order, every value
    # a number (``_double_frame``): MLflow's schema enforcement would return it unchanged.
    checked: bool = False


@dataclass
class InvocationError(Exception):
    """A request that gets an error answer: HTTP status, MLflow-style error code, message."""

    status: int
    error_code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.error_code}: {self.message}"

    def body(self, request_id: str) -> dict[str, object]:
        """MLflow's error body plus the request id."""
        return {"error_code": self.error_code, "message": self.message, "request_id": request_id}


def error_from_mlflow(exc: MlflowException) -> InvocationError:
    """The answer MLflow's server gives for this exception (its code and HTTP status)."""
    data = json.loads(exc.serialize_as_json())  # type: ignore[no-untyped-call]
    status = int(exc.get_http_status_code())  # type: ignore[no-untyped-call]
    return InvocationError(status, str(data.get("error_code")), str(data.get("message")))


def mlflow_answer(exc: BaseException) -> InvocationError | None:
    """MLflow's answer for ``exc`` when it is one of MLflow's errors, else None (this module
    is the one outside the store allowed to know MLflow's exception type)."""
    from mlflow.exceptions import MlflowException

    return error_from_mlflow(exc) if isinstance(exc, MlflowException) else None


def _content_type(content_type: str | None) -> str:
    """The media type, refusing what MLflow's server refuses with 415."""
    from mlflow.pyfunc import scoring_server as mlflow_server

    parts = [p.strip() for p in (content_type or "").split(";")]
    mime, parameters = parts[0].lower(), parts[1:]
    values = {
        key.strip().lower(): value.strip()
        for key, _, value in (p.partition("=") for p in parameters)
    }
    if values.get("charset", "utf-8").lower() != "utf-8":
        raise InvocationError(
            415, "UNSUPPORTED_MEDIA_TYPE", "The scoring server only supports UTF-8"
        )
    unknown = set(values) - {"charset"}
    if unknown:
        raise InvocationError(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"Unrecognized content type parameters: {', '.join(sorted(unknown))}.",
        )
    if mime not in mlflow_server.CONTENT_TYPES:
        raise InvocationError(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "This predictor only supports the following content types:"
            f" Types: {mlflow_server.CONTENT_TYPES}. Got '{content_type}'.",
        )
    return mime


def parse_request(body: bytes, content_type: str | None, model: LoadedModel) -> ParsedRequest:
    """Decode and parse one ``/invocations`` body against the model's signature.

    Raises ``InvocationError`` with MLflow's status and error code for anything MLflow's
    server refuses before predicting.
    """
    from mlflow.exceptions import MlflowException
    from mlflow.pyfunc import scoring_server as mlflow_server

    mime = _content_type(content_type)
    schema = model.input_schema
    params: dict[str, object] | None = None
    unwrapped = False
    try:
        if mime == mlflow_server.CONTENT_TYPE_JSON:
            decoded = mlflow_server._decode_json_input(body)  # type: ignore[no-untyped-call]
            deferred = _deferrable(decoded, model)
            if deferred is not None:
                params = _params_of(decoded)
                key = _params_key(params)
                return ParsedRequest(
                    deferred,
                    params,
                    max(1, len(deferred.rows)),
                    None if key is False else ("deferred", deferred.orient, deferred.columns, key),
                )
            parsed = mlflow_server._parse_json_data(  # type: ignore[no-untyped-call]
                decoded, model.pyfunc.metadata, schema
            )
            data, params, unwrapped = parsed.data, parsed.params, parsed.is_unified_llm_input
        elif mime == mlflow_server.CONTENT_TYPE_CSV:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvocationError(
                    400,
                    "BAD_REQUEST",
                    "Invalid input. Ensure that input is a valid UTF-8 encoded string. "
                    f"Error: '{exc!r}'",
                ) from exc
            data = mlflow_server.parse_csv_input(csv_input=StringIO(text), schema=schema)  # type: ignore[arg-type]
        else:
            data = mlflow_server.parse_parquet_input(parquet_input=BytesIO(body))  # type: ignore[no-untyped-call]
    except MlflowException as exc:
        raise error_from_mlflow(exc) from exc
    except InvocationError:
        raise
    except Exception as exc:  # a body MLflow's parser chokes on is still bad input
        raise InvocationError(
            400, "BAD_REQUEST", f"Invalid input. {type(exc).__name__}: {exc}"
        ) from exc
    return ParsedRequest(
        data, params, rows_of(data), _batch_key(data, params, unwrapped), unwrapped
    )


def _deferrable(decoded: object, model: LoadedModel) -> DeferredFrame | None:
    """The body as a ``DeferredFrame`` if it is a plain frame payload, else None."""
    from mlflow.pyfunc.utils.serving_data_parser import is_unified_llm_input

    if not isinstance(decoded, dict) or is_unified_llm_input(decoded):
        return None
    metadata = model.pyfunc.metadata
    if getattr(metadata, "_is_signature_from_type_hint", lambda: False)():
        return None
    if decoded.get("params") is not None and not isinstance(decoded["params"], dict):
        return None  # MLflow's own path reports bad params
    formats = [k for k in decoded if k in _FORMATS]
    if len(formats) != 1 or formats[0] not in ("dataframe_split", "dataframe_records"):
        return None
    payload = decoded[formats[0]]
    if formats[0] == "dataframe_split":
        if not isinstance(payload, dict) or set(payload) != {"columns", "data"}:
            return None
        columns, rows = payload["columns"], payload["data"]
        if not (isinstance(columns, list) and all(isinstance(c, str) for c in columns)):
            return None
        width = len(columns)
        if not (
            isinstance(rows, list)
            and rows
            and all(isinstance(r, list) and len(r) == width for r in rows)
        ):
            return None
        return DeferredFrame(decoded, "split", tuple(columns), rows)
    if not (isinstance(payload, list) and payload and isinstance(payload[0], dict)):
        return None
    keys = tuple(payload[0])
    if not all(isinstance(r, dict) and tuple(r) == keys for r in payload):
        return None
    return DeferredFrame(decoded, "records", keys, payload)


_FORMATS = frozenset({"dataframe_split", "dataframe_records", "instances", "inputs"})


def _params_of(decoded: dict[str, object]) -> dict[str, object] | None:
    params = decoded.get("params")
    return params if isinstance(params, dict) else None


def _params_key(params: dict[str, object] | None) -> str | bool | None:
    """Params as a batch key part: None without params, False if they cannot be keyed."""
    if not params:
        return None
    try:
        return json.dumps(params, sort_keys=True)
    except (TypeError, ValueError):
        return False


def materialize(request: ParsedRequest, model: LoadedModel) -> ParsedRequest:
    """A deferred request parsed alone, exactly as MLflow's server parses it."""
    from mlflow.exceptions import MlflowException
    from mlflow.pyfunc import scoring_server as mlflow_server

    deferred = request.data
    if not isinstance(deferred, DeferredFrame):
        return request
    frame = _double_frame(deferred.orient, deferred.columns, deferred.rows, model.input_schema)
    if frame is not None:
        return dataclasses.replace(request, data=frame, checked=True)
    try:
        parsed = mlflow_server._parse_json_data(  # type: ignore[no-untyped-call]
            deferred.decoded, model.pyfunc.metadata, model.input_schema
        )
    except MlflowException as exc:
        raise error_from_mlflow(exc) from exc
    except Exception as exc:
        raise InvocationError(
            400, "BAD_REQUEST", f"Invalid input. {type(exc).__name__}: {exc}"
        ) from exc
    return dataclasses.replace(request, data=parsed.data, params=parsed.params)


def merge_frames(requests: list[ParsedRequest], model: LoadedModel) -> object:
    """One MLflow parse of the rows of several deferred requests of one batch key."""
    return merge_requests(requests, model)[0]


def merge_requests(requests: list[ParsedRequest], model: LoadedModel) -> tuple[object, bool]:
    """The merged frame of several deferred requests of one batch key, and whether it is
    already checked against the signature (see ``ParsedRequest.checked``)."""
    from mlflow.pyfunc import scoring_server as mlflow_server

    parts = [r.data for r in requests]
    first = parts[0]
    assert isinstance(first, DeferredFrame)
    rows: list[object] = []
    for part in parts:
        assert isinstance(part, DeferredFrame)
        rows.extend(part.rows)
    frame = _double_frame(first.orient, first.columns, rows, model.input_schema)
    if frame is not None:
        return frame, True
    payload: object = rows
    if first.orient == "split":
        payload = {"columns": list(first.columns), "data": rows}
    parsed = mlflow_server.infer_and_parse_data(
        {f"dataframe_{first.orient}": payload},
        model.input_schema,  # type: ignore[arg-type]
    )
    return parsed, False


def _double_frame(
    orient: str, columns: tuple[str, ...], rows: list[object], schema: Schema | None
) -> pd.DataFrame | None:
    """The frame MLflow's parser builds, for the common case, in one numpy call; else None.

    MLflow builds ``pd.DataFrame(columns=..., data=rows)`` and then casts each column of the
    signature with ``astype`` (``cast_df_types_according_to_schema``): about 10 ms for 30
    columns whatever the rows, most of a small batch's parse. When every signature column is
    a ``double``, the request names exactly those columns in that order, and every value is
    a JSON number (``int`` or ``float``, not bool, null or string), that cast yields the
    float64 value of each number, which ``np.array(rows, dtype=float64)`` computes directly
    (the same IEEE conversion of the same Python numbers). Anything else (strings, nulls,
    other types, missing or extra columns, a number too large for a double) returns None
    and takes MLflow's own path, with MLflow's own errors.
    """
    if schema is None or orient not in ("split", "records"):
        return None
    if columns != _double_columns(schema):
        return None
    index = _COLUMN_INDEX.get(columns)
    if orient == "records":
        rows = [list(record.values()) for record in rows]  # type: ignore[attr-defined]
    for row in rows:
        for value in row:  # type: ignore[attr-defined]
            kind = type(value)  # exactly int or float: a bool is not an int here
            if kind is not float and kind is not int:
                return None
    import numpy as np
    import pandas as pd

    try:
        array = np.array(rows, dtype=np.float64)
    except (OverflowError, ValueError, TypeError):
        return None
    if array.ndim != 2 or array.shape[1] != len(columns):
        return None
    if index is None:
        # One columns Index per signature, shared by its frames (an Index is immutable):
        # building it from the names costs more than the frame itself, and the metrics
        # recognise a frame's columns by it.
        if len(_COLUMN_INDEX) >= 64:
            _COLUMN_INDEX.clear()
        index = _COLUMN_INDEX[columns] = pd.Index(list(columns))
    return pd.DataFrame(array, columns=index)


def _double_columns(schema: Schema) -> tuple[str, ...] | None:
    """The signature's column names if it is a column schema of only ``double`` columns."""
    cached = _DOUBLE_COLUMNS.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    from mlflow.types import DataType
    from mlflow.types.schema import ColSpec

    names: tuple[str, ...] | None = None
    if not schema.is_tensor_spec() and schema.has_input_names():
        inputs = schema.inputs
        if all(isinstance(s, ColSpec) and s.type == DataType.double for s in inputs):
            names = tuple(str(s.name) for s in inputs)
            if len(set(names)) != len(names):
                names = None
    _DOUBLE_COLUMNS[id(schema)] = (schema, names)
    return names


# the double column names of a signature -> the columns Index of its fast-parsed frames
_COLUMN_INDEX: dict[tuple[str, ...], pd.Index] = {}

T = TypeVar("T")


class ByColumnsIndex(Generic[T]):
    """What a consumer derives from a batch's columns, kept for the last columns Index seen.

    The fast parse gives the frames of one signature one shared Index (``_COLUMN_INDEX``), so
    the next batch of the same signature finds the value by identity, without reading its
    column names. The Index is held, so its identity cannot be reused by another object.
    """

    def __init__(self, derive: Callable[[pd.Index], T]) -> None:
        self._derive = derive
        self._last: tuple[pd.Index, T] | None = None

    def __call__(self, columns: pd.Index) -> T:
        last = self._last
        if last is not None and last[0] is columns:
            return last[1]
        value = self._derive(columns)
        self._last = (columns, value)
        return value

    def forget(self) -> None:
        """Derive again on the next batch (what the value depends on has changed)."""
        self._last = None


# id(schema) -> (schema, its double column names or None); a model keeps its schema object.
_DOUBLE_COLUMNS: dict[int, tuple[Schema, tuple[str, ...] | None]] = {}


def rows_of(data: object) -> int:
    """Rows in a model input (what ``--max-batch-rows`` and the queue count)."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame | pd.Series | np.ndarray | list):
        return max(1, len(data))
    if isinstance(data, dict) and data:
        first = next(iter(data.values()))
        if isinstance(first, np.ndarray | list) and all(
            hasattr(v, "__len__") and len(v) == len(first) for v in data.values()
        ):
            return max(1, len(first))
    return 1


def _batch_key(
    data: object, params: dict[str, object] | None, unwrapped: bool
) -> tuple[object, ...] | None:
    """Frames with the same columns, dtypes and params concatenate to one valid input."""
    import pandas as pd

    if unwrapped or not isinstance(data, pd.DataFrame) or len(data) == 0:
        return None
    try:
        params_key = json.dumps(params, sort_keys=True) if params else None
    except (TypeError, ValueError):
        return None
    return (tuple(data.columns), tuple(str(t) for t in data.dtypes), params_key)


def split_predictions(predictions: object, sizes: list[int]) -> list[object] | None:
    """Cut one batch's predictions into each request's rows, in order; None if they cannot
    be cut (then every request is predicted alone)."""
    import numpy as np
    import pandas as pd

    total = sum(sizes)
    if isinstance(predictions, pd.DataFrame | pd.Series):
        if len(predictions) != total:
            return None
        take = predictions.iloc.__getitem__
    elif isinstance(predictions, np.ndarray | list):
        if len(predictions) != total:
            return None
        take = predictions.__getitem__
    else:
        return None
    parts = []
    start = 0
    for size in sizes:
        parts.append(take(slice(start, start + size)))
        start += size
    return parts


def predictions_json(predictions: object, unwrapped: bool = False) -> str:
    """The answer body MLflow's server writes for these predictions."""
    import numpy as np

    if (
        not unwrapped
        and type(predictions) is np.ndarray
        and predictions.dtype.kind in "biuf"
        and predictions.ndim <= 2
    ):
        # MLflow writes ``json.dump({"predictions": array.tolist()}, cls=NumpyEncoder)``:
        # for an array of numbers that is the same text as ``json.dumps`` (native Python
        # values, same separators, same float repr), with the C encoder instead of the
        # pure-Python one ``json.dump`` runs (10% of a one-row request).
        return json.dumps({"predictions": predictions.tolist()})
    from mlflow.pyfunc import scoring_server as mlflow_server

    out = StringIO()
    if unwrapped:
        mlflow_server.unwrapped_predictions_to_json(predictions, out)  # type: ignore[no-untyped-call]
    else:
        mlflow_server.predictions_to_json(predictions, out)  # type: ignore[no-untyped-call]
    return out.getvalue()
