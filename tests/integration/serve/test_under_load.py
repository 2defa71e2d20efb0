"""``mlharness serve`` under a concurrent stream: bad requests mixed into good ones never
stop it, and the alias moving mid-stream switches answers without one failed request."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from tests.support.serve_server import (
    FEATURE,
    MODEL,
    Server,
    Store,
    promtool_check,
    split_body,
    start_ours,
)

pytestmark = pytest.mark.integration

JSON = {"content-type": "application/json"}
CLIENTS = 8


@dataclass
class Stream:
    """Answers of a stream of requests from ``CLIENTS`` threads."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)
    versions: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _stream(
    url: str,
    requests: list[tuple[str, bytes, dict[str, str], Callable[[httpx.Response], str | None]]],
    seconds: float,
    until: Callable[[Stream], bool] | None = None,
) -> Stream:
    """Each thread cycles through ``requests`` for ``seconds`` (or until ``until``)."""
    stream = Stream()
    deadline = time.monotonic() + seconds
    stop = threading.Event()

    def client(offset: int) -> None:
        with httpx.Client(timeout=60) as http:
            i = offset
            while time.monotonic() < deadline and not stop.is_set():
                what, body, headers, check = requests[i % len(requests)]
                i += 1
                answer = http.post(f"{url}/invocations", content=body, headers=headers)
                problem = check(answer)
                with stream.lock:
                    stream.statuses[(what, answer.status_code)] += 1
                    if problem:
                        stream.wrong.append(f"{what}: {problem}")
                    if "x-model-version" in answer.headers:
                        stream.versions.append(
                            (time.monotonic(), answer.headers["x-model-version"])
                        )
                    if until is not None and until(stream):
                        stop.set()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return stream


def _good(store: Store, start: int, n: int, version: str | None = "1") -> tuple:
    expected = store.expected
    rows = slice(start, start + n)

    def check(answer: httpx.Response) -> str | None:
        if answer.status_code != 200:
            return f"status {answer.status_code}: {answer.text[:200]}"
        served = version or answer.headers["x-model-version"]
        if answer.json() != {"predictions": expected[served][rows]}:
            return f"wrong predictions from version {served}"
        return None

    return (f"good {n}", split_body(store.rows(n, start)), JSON, check)


def _bad(what: str, body: bytes, headers: dict[str, str], status: int) -> tuple:
    def check(answer: httpx.Response) -> str | None:
        if answer.status_code != status:
            return f"status {answer.status_code}, expected {status}"
        if answer.json().get("request_id") != answer.headers.get("x-request-id"):
            return "no request id"
        return None

    return (what, body, headers, check)


def test_bad_requests_mixed_into_a_stream_never_stop_the_server(
    serve_store: Store, ours: Server
) -> None:
    one = json.loads(serve_store.rows(1).to_json(orient="records"))[0]
    missing = {k: v for k, v in one.items() if k != FEATURE}
    requests = [
        _good(serve_store, 0, 1),
        _bad("malformed JSON", b'{"dataframe_split": [', JSON, 400),
        _good(serve_store, 5, 17),
        _bad("missing column", json.dumps({"dataframe_records": [missing]}).encode(), JSON, 400),
        _good(serve_store, 40, 3),
        _bad(
            "wrong type",
            json.dumps({"dataframe_records": [{**one, FEATURE: "x"}]}).encode(),
            JSON,
            400,
        ),
        _good(serve_store, 100, 1),
        _bad("too large", b"[" + b" " * 150_000 + b"]", JSON, 413),
        _bad("unsupported type", b"1", {"content-type": "text/plain"}, 415),
        _good(serve_store, 200, 60),
    ]
    stream = _stream(ours.url, requests, seconds=8)
    assert stream.wrong == []
    answered = sum(stream.statuses.values())
    assert answered > 50, stream.statuses
    for what, _, _, _ in requests:
        expected_status = 200 if what.startswith("good") else None
        seen = {status for (w, status) in stream.statuses if w == what}
        assert seen, what
        if expected_status:
            assert seen == {200}, (what, seen)
    with httpx.Client(timeout=30) as http:
        assert http.get(f"{ours.url}/ping").status_code == 200
        text = http.get(f"{ours.url}/metrics").text
    assert promtool_check(text) == ""
    for status in (400, 413, 415):
        count = sum(n for (_, s), n in stream.statuses.items() if s == status)
        line = f'mlharness_http_requests_total{{route="/invocations",status="{status}"}}'
        counted = [float(ln.rsplit(" ", 1)[1]) for ln in text.splitlines() if ln.startswith(line)]
        assert counted and counted[0] >= count, (status, counted, count)


def test_alias_moves_during_a_stream_with_two_workers(serve_store: Store) -> None:
    """No request fails while each worker loads, warms up and switches to version 2."""
    import mlflow

    client = mlflow.MlflowClient(serve_store.uri)
    client.set_registered_model_alias(MODEL, "live", "1")
    server = start_ours(
        serve_store, f"models:/{MODEL}@live", "--workers", "2", "--reload-interval", "0.5"
    )
    try:
        requests = [_good(serve_store, 0, 5, None), _good(serve_store, 300, 20, None)]
        warm = _stream(server.url, requests, seconds=2)
        assert warm.wrong == [] and {v for _, v in warm.versions} == {"1"}
        moved_at = time.monotonic()
        client.set_registered_model_alias(MODEL, "live", "2")

        def switched(stream: Stream) -> bool:
            # Both workers switched: the last 40 answers all came from version 2.
            tail = stream.versions[-40:]
            return len(tail) == 40 and all(v == "2" for _, v in tail) and tail[0][0] > moved_at

        stream = _stream(server.url, requests, seconds=120, until=switched)
        assert stream.wrong == []
        assert {s for (_, s) in stream.statuses} == {200}, stream.statuses
        assert switched(stream), Counter(v for _, v in stream.versions)
        with httpx.Client(timeout=30) as http:
            text = http.get(f"{server.url}/metrics").text
        assert promtool_check(text) == ""
        assert "mlharness_model_reloads_total 2.0" in text  # one switch per worker
        assert 'version="2"} 1.0' in text
    finally:
        server.stop()
        client.set_registered_model_alias(MODEL, "live", "1")
