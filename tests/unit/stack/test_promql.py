"""The PromQL tokenizer finds exactly the metric names an expression selects."""

from __future__ import annotations

import pytest

from monitoring.stack.promql import is_known, metric_names


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up", {"up"}),
        ('probe_success{job="blackbox"} == 0', {"probe_success"}),
        (
            'histogram_quantile(0.99, sum by (le) (rate(a_bucket{route="/x"}[5m]))) > 0.5',
            {"a_bucket"},
        ),
        ("sum(rate(a_total[1m])) by (route, status)", {"a_total"}),
        ("count by (name) (max by (name, version) (max_over_time(info[6m]))) > 1", {"info"}),
        ("a / on(instance) group_left(version) b", {"a", "b"}),
        ("a unless ignoring(x) b or c and bool_metric", {"a", "b", "c", "bool_metric"}),
        ('sum(increase(x[1m])) == 0 or absent(x{job="s"})', {"x"}),
        ('{__name__="by_name", job="j"}', {"by_name"}),
        ('label_replace(m, "dst", "$1 {not} [a]", "src", "(.*)")', {"m"}),
        ("m offset 5m + n @ 1609746000", {"m", "n"}),
        ("max_over_time(rate(m[1m])[10m:30s])", {"m"}),
        ("time() - max(last_success) > 1e-05", {"last_success"}),
        ("vector(0) + scalar(s)", {"s"}),
        ("level:metric:rate5m > 2", {"level:metric:rate5m"}),
        ("topk(3, m) # a comment with fake_metric", {"m"}),
        ("sum without (pid) (g)", {"g"}),
        ('count_values("v", m)', {"m"}),
    ],
)
def test_metric_names(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


@pytest.mark.parametrize("expr", ['m{job="x}', "rate(m[5m)", '"never closed'])
def test_lexically_broken_expressions_are_errors(expr: str) -> None:
    with pytest.raises(ValueError):
        metric_names(expr)


def test_known_series_cover_the_stack_and_nothing_else() -> None:
    assert is_known("mlharness_http_requests_total")
    assert is_known("mlharness_http_request_duration_seconds_bucket")
    assert is_known("mlharness_drift_last_success_timestamp_seconds")
    assert is_known("probe_success") and is_known("probe_http_status_code")
    assert is_known("up") and is_known("push_time_seconds")
    assert is_known("mlflow_http_request_total")  # prometheus_flask_exporter, prefix "mlflow"
    assert not is_known("flask_http_request_total")  # MLflow sets defaults_prefix="mlflow"
    assert not is_known("mlharness_requests_total")
    assert not is_known("my:recorded") and is_known("my:recorded", frozenset({"my:recorded"}))
