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
