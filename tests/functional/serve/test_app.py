"""The serving app in-process on a real registered model: protocol, errors, batching,
queue limits, metrics, online drift and hot reload."""

from __future__ import annotations

import asyncio
import io
import json
import time
from typing import Any

import httpx
import pytest

from monitoring.metric_names import SERVER_METRICS
from tests.functional.serve.helpers import running
from tests.support.serve_server import FEATURE, RAISE_ABOVE, Store, promtool_check, split_body

pytestmark = pytest.mark.functional

JSON = {"content-type": "application/json"}


def _records(frame: Any) -> list[dict[str, Any]]:
    return json.loads(frame.to_json(orient="records"))


def _bodies(store: Store, start: int, n: int) -> dict[str, tuple[bytes, dict[str, str]]]:
    """The same rows in every input format MLflow's server accepts."""
    rows = store.rows(n, start)
    records = _records(rows)
    columns = {c: [r[c] for r in records] for c in rows.columns}
    csv = io.StringIO()
    rows.to_csv(csv, index=False)

    def as_json(obj: object) -> tuple[bytes, dict[str, str]]:
        return json.dumps(obj).encode(), JSON

    return {
        "dataframe_split": (split_body(rows), JSON),
        "dataframe_records": as_json({"dataframe_records": records}),
        "instances": as_json({"instances": records}),
        "inputs-columns": as_json({"inputs": columns}),
        "inputs-records": as_json({"inputs": records}),
        "split-with-params": as_json(
            {"dataframe_split": json.loads(rows.to_json(orient="split", index=False)), "params": {}}
        ),
        "csv": (csv.getvalue().encode(), {"content-type": "text/csv"}),
        "json-charset": (split_body(rows), {"content-type": "application/json; charset=UTF-8"}),
    }


def test_every_input_format_gives_the_models_predictions(serve_store: Store) -> None:
    async def main() -> None:
        async with running(serve_store) as (client, _):
            for name, (body, headers) in _bodies(serve_store, 10, 3).items():
                answer = await client.post("/invocations", content=body, headers=headers)
                assert answer.status_code == 200, (name, answer.text)
                assert answer.json() == {"predictions": serve_store.expected["1"][10:13]}, name
                assert answer.headers["x-model-version"] == "1"
                assert len(answer.headers["x-request-id"]) >= 16
            for route in ("/ping", "/health"):
                pong = await client.get(route)
                assert (pong.status_code, pong.text) == (200, "\n")
            import mlflow

            assert (await client.get("/version")).text == mlflow.__version__

    asyncio.run(main())


def _bad_requests(store: Store) -> list[tuple[str, bytes, dict[str, str], int, str]]:
    """(what, body, headers, status, error_code) of requests MLflow's server refuses."""
    row = _records(store.rows(1))[0]
    missing = {k: v for k, v in row.items() if k != FEATURE}
    wrong_type = {**row, FEATURE: "not a number"}
    return [
        ("malformed JSON", b'{"dataframe_split": ', JSON, 400, "BAD_REQUEST"),
        ("a JSON list", b"[1, 2]", JSON, 400, "BAD_REQUEST"),
        ("no format key", json.dumps({"data": [row]}).encode(), JSON, 400, "BAD_REQUEST"),
        (
            "two format keys",
            json.dumps({"dataframe_records": [row], "instances": [row]}).encode(),
            JSON,
            400,
            "BAD_REQUEST",
        ),
        (
            "missing column",
            json.dumps({"dataframe_records": [missing]}).encode(),
            JSON,
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "wrong type",
            json.dumps({"dataframe_records": [wrong_type]}).encode(),
            JSON,
            400,
            "BAD_REQUEST",
        ),
        (
            "CSV of other columns",
            b"a,b\n1,2\n",
            {"content-type": "text/csv"},
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        ("text/plain", b"1", {"content-type": "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        (
            "latin-1",
            b"{}",
            {"content-type": "application/json; charset=latin-1"},
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "unknown parameter",
            b"{}",
            {"content-type": "application/json; format=pandas-split"},
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
    ]


def test_bad_requests_get_mlflows_status_and_code_with_a_request_id(serve_store: Store) -> None:
    async def main() -> None:
        async with running(serve_store, max_request_bytes=50_000) as (client, _):
            for what, body, headers, status, code in _bad_requests(serve_store):
                answer = await client.post("/invocations", content=body, headers=headers)
                assert answer.status_code == status, (what, answer.text)
                error = answer.json()
                assert error["error_code"] == code, what
                assert error["message"], what
                assert error["request_id"] == answer.headers["x-request-id"], what
            big = split_body(serve_store.rows(400))
            assert len(big) > 50_000
            answer = await client.post("/invocations", content=big, headers=JSON)
            assert answer.status_code == 413
            assert answer.json()["error_code"] == "REQUEST_TOO_LARGE"
            mine = await client.post(
                "/invocations", content=b"{", headers={**JSON, "X-Request-ID": "abc-123"}
            )
            assert mine.headers["x-request-id"] == mine.json()["request_id"] == "abc-123"
            good = await client.post(
                "/invocations", content=split_body(serve_store.rows(2)), headers=JSON
            )
            assert good.json() == {"predictions": serve_store.expected["1"][:2]}
            text = (await client.get("/metrics")).text
            assert 'mlharness_http_requests_total{route="/invocations",status="413"} 1.0' in text
            assert 'mlharness_http_requests_total{route="/invocations",status="415"} 3.0' in text

    asyncio.run(main())


def test_an_exception_inside_the_model_is_a_500_and_others_still_succeed(
    serve_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """``flaky`` also has no reference profile: its drift gauges are zeros, said in the log."""

    async def main() -> None:
        async with running(serve_store, "models:/flaky@champion") as (client, _):
            rows = serve_store.rows(3)
            bad = rows.copy()
            bad.loc[bad.index[1], FEATURE] = RAISE_ABOVE + 1
            answers = await asyncio.gather(
                client.post("/invocations", content=split_body(rows), headers=JSON),
                client.post("/invocations", content=split_body(bad), headers=JSON),
                client.post("/invocations", content=split_body(rows), headers=JSON),
            )
            assert [a.status_code for a in answers] == [200, 500, 200]
            assert answers[1].json()["error_code"] == "INTERNAL_ERROR"
            assert "too large" in answers[1].json()["message"]
            assert answers[1].json()["request_id"] == answers[1].headers["x-request-id"]
            assert answers[0].json() == {"predictions": [0, 0, 0]}
            text = (await client.get("/metrics")).text
            assert f'mlharness_online_drift_detected{{feature="{FEATURE}"}} 0.0' in text
            assert f'mlharness_online_drift_score{{feature="{FEATURE}",method="none"}} 0.0' in text

    with caplog.at_level("INFO", logger="mlharness.serve"):
        asyncio.run(main())
    assert "has no reference profile" in caplog.text
    assert "mlharness monitor profile --model models:/flaky/1" in caplog.text


def test_concurrent_requests_of_mixed_sizes_each_get_their_own_rows(serve_store: Store) -> None:
    """Batched answers equal unbatched prediction; bad requests inside a batch fail alone."""
    expected = serve_store.expected["1"]
    plan: list[tuple[int, int, str]] = []  # (start, rows, format)
    start = 0
    formats = ["dataframe_split", "dataframe_records", "csv", "instances"]
    for i in range(48):
        size = 1 + (i * 7) % 9
        plan.append((start, size, formats[i % len(formats)]))
        start = (start + size) % 400
    bad = _bad_requests(serve_store)[4:6]  # missing column, wrong type: fail the signature

    async def main(max_rows: int) -> tuple[list[Any], dict[str, float]]:
        async with running(serve_store, max_batch_rows=max_rows, max_batch_delay_ms=5) as (
            client,
            state,
        ):
            calls = [
                client.post(
                    "/invocations",
                    content=_bodies(serve_store, s, n)[f][0],
                    headers=_bodies(serve_store, s, n)[f][1],
                )
                for s, n, f in plan
            ]
            calls.insert(5, client.post("/invocations", content=bad[0][1], headers=JSON))
            calls.insert(20, client.post("/invocations", content=bad[1][1], headers=JSON))
            answers = await asyncio.gather(*calls)
            assert state.metrics is not None
            batches = _sample(await client.get("/metrics"), "mlharness_batch_rows_count")
            rows = _sample(await client.get("/metrics"), "mlharness_batch_rows_sum")
            return list(answers), {"batches": batches, "rows": rows}

    for max_rows in (64, 1):
        answers, seen = asyncio.run(main(max_rows))
        bad_answers = [answers.pop(20), answers.pop(5)]
        assert [a.status_code for a in bad_answers] == [400, 400]
        for (s, n, f), answer in zip(plan, answers, strict=True):
            assert answer.status_code == 200, (f, answer.text)
            assert answer.json()["predictions"] == expected[s : s + n], (s, n, f)
        total = sum(n for _, n, _ in plan)
        assert seen["rows"] == total
        if max_rows == 64:
            # Requests were grouped: the 12 "instances" bodies (dicts, not frames) are
            # predicted alone, the 36 frame bodies share far fewer predict calls.
            assert seen["batches"] < len(plan) - 12, seen
        else:
            assert seen["batches"] == len(plan)  # one request per predict call


def _sample(answer: httpx.Response, name: str) -> float:
    for line in answer.text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def test_an_idle_server_predicts_at_once_and_a_full_queue_answers_503(serve_store: Store) -> None:
    async def main() -> None:
        async with running(
            serve_store, max_batch_delay_ms=20_000, max_queue_rows=8, max_batch_rows=4
        ) as (client, _):
            started = time.monotonic()
            alone = await client.post(
                "/invocations", content=split_body(serve_store.rows(1)), headers=JSON
            )
            assert alone.status_code == 200
            assert time.monotonic() - started < 10  # the 20 s batch delay was not waited
            answers = await asyncio.gather(
                *[
                    client.post(
                        "/invocations", content=split_body(serve_store.rows(4, 4 * i)), headers=JSON
                    )
                    for i in range(30)
                ]
            )
            codes = [a.status_code for a in answers]
            assert set(codes) == {200, 503}, codes
            for i, answer in enumerate(answers):
                if answer.status_code == 503:
                    assert answer.headers["retry-after"] == "1"
                    assert answer.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
                else:
                    assert (
                        answer.json()["predictions"] == serve_store.expected["1"][4 * i : 4 * i + 4]
                    )

    asyncio.run(main())


def test_metrics_are_the_catalogue_promtool_clean_and_drift_is_zero_then_set(
    serve_store: Store,
) -> None:
    async def main() -> None:
        async with running(serve_store, drift_window_rows=200) as (client, state):
            text = (await client.get("/metrics")).text
            assert promtool_check(text) == ""
            for spec in SERVER_METRICS:  # every series without per-request labels exists
                if not set(spec.labels) & {"route", "class"}:
                    assert f"\n{spec.series()[0]}" in text, spec.name
            assert f'mlharness_online_drift_detected{{feature="{FEATURE}"}} 0.0' in text
            assert f'mlharness_online_drift_score{{feature="{FEATURE}",method="ks"}} 0.0' in text
            assert 'mlharness_model_info{alias="champion",name="rf"' in text
            # Traffic like the training data: no drift.
            for i in range(10):
                await client.post(
                    "/invocations", content=split_body(serve_store.rows(20, 20 * i)), headers=JSON
                )
            assert state.drift is not None and state.drift.refresh()
            text = (await client.get("/metrics")).text
            assert f'mlharness_online_drift_detected{{feature="{FEATURE}"}} 0.0' in text
            score = _sample_labelled(text, "mlharness_online_drift_score", FEATURE)
            assert score > 0.05  # a KS p-value: the same distribution
            # Shifted traffic: the feature drifts.
            shifted = serve_store.rows(200).copy()
            shifted[FEATURE] = shifted[FEATURE] * 3
            await client.post("/invocations", content=split_body(shifted), headers=JSON)
            assert state.drift.refresh()
            text = (await client.get("/metrics")).text
            assert f'mlharness_online_drift_detected{{feature="{FEATURE}"}} 1.0' in text
            assert 'mlharness_predicted_class_total{class="1"}' in text
            assert f'mlharness_input_feature_value_count{{feature="{FEATURE}"}} 400.0' in text
            assert promtool_check(text) == ""

    asyncio.run(main())


def _sample_labelled(text: str, name: str, feature: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and f'feature="{feature}"' in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} for {feature} not in /metrics")


def test_no_metrics_turns_off_the_route(serve_store: Store) -> None:
    async def main() -> None:
        async with running(serve_store, metrics=False) as (client, _):
            assert (await client.get("/metrics")).status_code == 404
            answer = await client.post(
                "/invocations", content=split_body(serve_store.rows(2)), headers=JSON
            )
            assert answer.json() == {"predictions": serve_store.expected["1"][:2]}

    asyncio.run(main())


def test_reload_switches_to_the_new_version_and_refuses_a_broken_one(serve_store: Store) -> None:
    import mlflow

    client_ = mlflow.MlflowClient(serve_store.uri)
    client_.set_registered_model_alias("rf", "fn-reload", "1")
    body = split_body(serve_store.rows(50))

    async def main() -> None:
        async with running(serve_store, "models:/rf@fn-reload", reload_interval=3600) as (
            client,
            state,
        ):
            assert state.reloader is not None
            assert (await state.reloader.check()).status == "unchanged"
            client_.set_registered_model_alias("rf", "fn-reload", "2")
            outcome = await state.reloader.check()
            assert outcome.status == "switched", outcome
            answer = await client.post("/invocations", content=body, headers=JSON)
            assert answer.headers["x-model-version"] == "2"
            assert answer.json()["predictions"] == serve_store.expected["2"][:50]
            assert serve_store.expected["2"][:50] != serve_store.expected["1"][:50]
            client_.set_registered_model_alias("rf", "fn-reload", "3")  # fails its warm-up
            outcome = await state.reloader.check()
            assert outcome.status == "failed" and "warm-up" in str(outcome.error)
            assert (await state.reloader.check()).status == "skipped"  # not retried
            answer = await client.post("/invocations", content=body, headers=JSON)
            assert answer.headers["x-model-version"] == "2"
            text = (await client.get("/metrics")).text
            assert "mlharness_model_reloads_total 1.0" in text
            assert "mlharness_model_reload_failures_total 1.0" in text
            assert 'name="rf",run_id=' in text and 'version="2"} 1.0' in text
            assert 'version="1"} 1.0' not in text

    asyncio.run(main())
