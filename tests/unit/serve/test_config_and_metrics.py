"""Options checked all at once, model URIs, and collectors built from the catalogue."""

from __future__ import annotations

import json

import pytest

from harness.kernel.errors import ParamError
from monitoring.metric_names import SERVER_METRICS
from orchestration.serving.metrics import ServerMetrics
from orchestration.serving.settings import ServeConfig, parse_model_uri


def test_model_uris() -> None:
    assert parse_model_uri("models:/rf@champion") == ("rf", "champion", None)
    assert parse_model_uri("models:/rf/3") == ("rf", None, "3")
    for bad in ("rf", "models:/rf", "models:/rf/x", "runs:/abc/model", "models:/@a"):
        with pytest.raises(ParamError):
            parse_model_uri(bad)


def test_every_bad_option_is_reported_at_once() -> None:
    config = ServeConfig("models:/rf", port=0, workers=0, max_batch_rows=0, max_batch_delay_ms=-1.0)
    with pytest.raises(ParamError) as caught:
        config.check()
    text = str(caught.value)
    for flag in ("MODEL", "--port", "--workers", "--max-batch-rows", "--max-batch-delay-ms"):
        assert flag in text


def test_config_round_trips_through_json() -> None:
    config = ServeConfig("models:/rf@a", port=9000, workers=3, metrics=False)
    assert ServeConfig.from_json(config.to_json()) == config


def test_the_bounds_are_the_pipeline_configs_and_unknown_keys_are_refused() -> None:
    from harness.kernel.errors import ConfigError
    from harness.schemas.pipeline_config import ServingConfig

    # port's bound comes from ServingConfig (le=65535), not from code of its own here.
    assert any("--port" in p for p in ServeConfig("models:/rf@a", port=70000).problems())
    upper = next(m for m in ServingConfig.model_fields["port"].metadata if hasattr(m, "le"))
    assert upper.le == 65535
    data = json.loads(ServeConfig("models:/rf@a", port=9000).to_json())
    with pytest.raises(ConfigError, match="batch_rows"):
        ServeConfig.from_json(json.dumps({**data, "batch_rows": 8}))
    with pytest.raises(ConfigError, match="workers"):
        ServeConfig.from_json(json.dumps({**data, "workers": 0}))


def test_collectors_are_the_catalogue() -> None:
    metrics = ServerMetrics()
    families = {f.name: f for f in metrics.registry.collect()}
    for spec in SERVER_METRICS:
        base = spec.name.removesuffix("_total") if spec.kind == "counter" else spec.name
        assert base in families, spec.name
        assert families[base].type == spec.kind, spec.name
        assert families[base].documentation == spec.help, spec.name
    assert len(families) == len(SERVER_METRICS)


def _samples(registry: object) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample but the ``_created`` timestamps, keyed by name and labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in registry.collect()  # type: ignore[attr-defined]
        for s in family.samples
        if not s.name.endswith("_created")
    }


def test_bulk_updates_expose_what_one_update_per_value_exposes() -> None:
    """Requests are counted and prediction values observed in bulk (at scrape time, by
    bucket); the exposition is the one prometheus_client's own per-value calls give."""
    import numpy as np
    import pandas as pd

    from harness.schemas.slo import LATENCY_BUCKETS_S

    # bounds exactly (a value equal to a bound is in that bucket), between, above all,
    # unknown routes (counted as "other") and several statuses
    seconds = [*LATENCY_BUCKETS_S, 0.0, 0.0004, 0.0031, 7.5, 1e6, 0.25, 0.125]
    done = [
        (route, status, value)
        for index, value in enumerate(seconds)
        for route, status in [
            (("/invocations", 200), ("/invocations", 400), ("/ping", 200), ("/nope", 404))[
                index % 4
            ]
        ]
    ]
    bulk, single = ServerMetrics(), ServerMetrics()
    for route, status, value in done:
        bulk.request_started()
        bulk.request_done(route, status, value)
        shown = route if route in ("/invocations", "/ping") else "other"
        single.requests.labels(shown, str(status)).inc()
        single.duration.labels(shown).observe(value)
    predictions = np.array([0.5, -3.0, 0.0, 0.1, 1000.0, 2e4, np.nan, np.inf, -0.75, 2.5])
    bulk.predicted(None, pd.DataFrame(), predictions, len(predictions))  # type: ignore[arg-type]
    single.batch_rows.observe(len(predictions))
    single.predictions.inc(len(predictions))
    for value in predictions[np.isfinite(predictions)]:
        single.prediction_value.observe(float(value))
    assert b"mlharness_http_requests_total" in bulk.render()
    expected = _samples(single.registry)
    assert _samples(bulk.registry) == expected
    assert expected[("mlharness_http_requests_total", (("route", "other"), ("status", "404")))]
    # more requests than one bulk holds are counted without a scrape
    for _ in range(3000):
        bulk.request_started()
        bulk.request_done("/invocations", 200, 0.002)
    counted = _samples(bulk.registry)
    key = ("mlharness_http_requests_total", (("route", "/invocations"), ("status", "200")))
    assert counted[key] >= expected[key] + 2048
    bulk.render()
    assert _samples(bulk.registry)[key] == expected[key] + 3000
