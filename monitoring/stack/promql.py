"""The metric names a PromQL expression reads, and the names something in the stack exports.

Debian's promtool 2.42 has no command that parses an expression on its own and Prometheus
2.42 has no ``/api/v1/parse_query``, so names are found by a tokenizer that knows PromQL's
lexical structure: strings, label matchers ``{...}``, ranges ``[...]``, the label lists
after ``by``/``without``/``on``/``ignoring``/``group_left``/``group_right``, functions and
aggregations (an identifier before ``(``), keywords and numbers. What remains are metric
names (plus ``__name__="..."`` matchers). Validity itself is left to promtool (every
expression is checked as a rule by ``promtool check rules``).
"""

from __future__ import annotations

from monitoring.metric_names import exported_series

__all__ = [
    "MLFLOW_SERVER_SERIES",
    "PROMETHEUS_SERIES",
    "PUSHGATEWAY_SERIES",
    "is_known",
    "known_series",
    "metric_names",
]

AGGREGATORS = frozenset(
    {
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
    }
)
LABEL_LIST_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
KEYWORDS = LABEL_LIST_KEYWORDS | {"bool", "and", "or", "unless", "offset", "atan2", "inf", "nan"}

# `mlflow server --expose-prometheus`: prometheus_flask_exporter with defaults_prefix="mlflow"
# (mlflow/server/prometheus_exporter.py), plus MLflow's OTLP ingestion metrics.
MLFLOW_SERVER_SERIES = frozenset(
    {
        "mlflow_exporter_info",
        "mlflow_http_request_total",
        "mlflow_http_request_exceptions_total",
        "mlflow_http_request_duration_seconds_bucket",
        "mlflow_http_request_duration_seconds_sum",
        "mlflow_http_request_duration_seconds_count",
        "mlflow_spans_ingested_total",
        "mlflow_trace_ingestion_server_errors_total",
        "mlflow_otlp_request_duration_seconds_bucket",
        "mlflow_otlp_request_duration_seconds_sum",
        "mlflow_otlp_request_duration_seconds_count",
    }
)
# The Pushgateway's own series per pushed group.
PUSHGATEWAY_SERIES = frozenset({"push_time_seconds", "push_failure_time_seconds"})
# What Prometheus itself writes for every scrape and rule evaluation.
PROMETHEUS_SERIES = frozenset(
    {
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
        "ALERTS",
        "ALERTS_FOR_STATE",
    }
)
# The blackbox exporter's probe metrics all start with this.
BLACKBOX_PREFIX = "probe_"


def known_series() -> frozenset[str]:
    """Every series name some component of the stack exports (blackbox: by prefix)."""
    return exported_series() | MLFLOW_SERVER_SERIES | PUSHGATEWAY_SERIES | PROMETHEUS_SERIES


def is_known(name: str, recorded: frozenset[str] = frozenset()) -> bool:
    """Exported by the stack, or recorded by one of its rules."""
    return name in known_series() or name.startswith(BLACKBOX_PREFIX) or name in recorded


def _skip_string(expr: str, i: int) -> int:
    quote = expr[i]
    i += 1
    while i < len(expr):
        if expr[i] == "\\" and quote != "`":
            i += 2
            continue
        if expr[i] == quote:
            return i + 1
        i += 1
    raise ValueError(f"unterminated string in {expr!r}")


def _matchers(expr: str, i: int) -> tuple[int, list[str]]:
    """Skip ``{...}`` from ``i`` (at ``{``); returns the end and any ``__name__`` values."""
    names: list[str] = []
    i += 1
    last_label = ""
    op = ""
    while i < len(expr):
        ch = expr[i]
        if ch in "\"'`":
            end = _skip_string(expr, i)
            if last_label == "__name__" and op == "=":
                names.append(expr[i + 1 : end - 1])
            i = end
            continue
        if ch == "}":
            return i + 1, names
        if ch.isalpha() or ch == "_":
            j = i
            while j < len(expr) and (expr[j].isalnum() or expr[j] == "_"):
                j += 1
            last_label, op = expr[i:j], ""
            i = j
            continue
        if ch in "=!~":
            op += ch
        i += 1
    raise ValueError(f"unterminated label matchers in {expr!r}")


def _skip_until(expr: str, i: int, close: str) -> int:
    while i < len(expr) and expr[i] != close:
        i = _skip_string(expr, i) if expr[i] in "\"'`" else i + 1
    if i >= len(expr):
        raise ValueError(f"missing {close!r} in {expr!r}")
    return i + 1


def _next_char(expr: str, i: int) -> str:
    while i < len(expr) and expr[i].isspace():
        i += 1
    return expr[i] if i < len(expr) else ""


def metric_names(expr: str) -> set[str]:
    """The metric names ``expr`` selects; ``ValueError`` if it is not even lexically valid."""
    names: set[str] = set()
    i = 0
    while i < len(expr):
        ch = expr[i]
        if ch in "\"'`":
            i = _skip_string(expr, i)
        elif ch == "#":  # a comment runs to the end of the line
            while i < len(expr) and expr[i] != "\n":
                i += 1
        elif ch == "{":
            i, found = _matchers(expr, i)
            names.update(found)
        elif ch == "[":
            i = _skip_until(expr, i + 1, "]")
        elif ch.isdigit() or (ch == "." and i + 1 < len(expr) and expr[i + 1].isdigit()):
            while i < len(expr) and (expr[i].isalnum() or expr[i] in "._"):
                # exponent sign: 1e-05
                if expr[i] in "eE" and i + 1 < len(expr) and expr[i + 1] in "+-":
                    i += 1
                i += 1
        elif ch.isalpha() or ch in "_:":
            j = i
            while j < len(expr) and (expr[j].isalnum() or expr[j] in "_:"):
                j += 1
            word = expr[i:j]
            following = _next_char(expr, j)
            if word.lower() in LABEL_LIST_KEYWORDS:
                if following == "(":
                    j = _skip_until(expr, expr.index("(", j) + 1, ")")
            elif word.lower() in KEYWORDS or word in AGGREGATORS or following == "(":
                pass  # a keyword, an aggregation or a function call
            else:
                names.add(word)
            i = j
        else:
            i += 1
    return names
