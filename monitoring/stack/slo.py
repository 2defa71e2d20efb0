"""The SLO as rules: SLI recording rules per window, error budgets, burn-rate alerts, tests.

What Sloth and Pyrra generate for a service, generated here for the model's ``/invocations``
endpoint from the config's ``slo`` section:

- ``slo:sli_error:ratio_rate<W>{slo, window}``: the share of bad requests (5xx; or slower
  than the latency threshold, counted from the histogram bucket ``le=threshold``) over every
  window an alert needs, and over the SLO window itself;
- ``slo:objective:ratio``, ``slo:error_budget:ratio`` (1 - objective),
  ``slo:error_budget_remaining:ratio`` (1 - the bad share over the SLO window / the budget),
  ``slo:burn_rate:ratio`` (the bad share / the budget) and ``slo:sli:ratio`` for the dashboard;
- four multi-window burn-rate alerts per objective (the SRE workbook's table,
  :data:`~harness.schemas.slo.BURN_RATE_ALERTS`): an alert fires when the bad share over its
  long window *and* over its short window is above factor x budget. The long window makes a
  short blip harmless, the short one makes the alert stop soon after the burn stops.

The promtool tests sit at the boundaries: a burn just above each factor fires, one just below
does not, a blip at many times the budget but only for the short window pages nobody, and a
slow burn at twice the budget opens the 1x ticket only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.schemas.slo import BURN_RATE_ALERTS, BurnRateAlert
from monitoring.stack.alert_types import Alert, Series, TestCase, counter, number, percent
from monitoring.stack.rules import RecordingRule
from monitoring.stack.settings import Objective, SloSettings, StackSettings, duration

__all__ = [
    "ALERTS_GROUP",
    "FAST",
    "RULES_GROUP",
    "ExprTest",
    "budget_tests",
    "slo_alerts",
    "slo_rules",
]

RULES_GROUP = "mlharness.slo.rules"
ALERTS_GROUP = "mlharness.slo.alerts"
INVOCATIONS = "/invocations"
# Requests per test sample: large, so a ratio rounds to whole requests with no visible error.
PER_STEP = 1_000_000
SEVERITY = {"page": "critical", "ticket": "warning"}
FAST = BURN_RATE_ALERTS[0]


def _le(threshold_s: float) -> str:
    """The ``le`` label prometheus_client writes for a bucket bound (``1.0``, ``0.25``)."""
    from prometheus_client.utils import floatToGoString

    return str(floatToGoString(threshold_s))  # type: ignore[no-untyped-call]


def sli_record(window: str) -> str:
    return f"slo:sli_error:ratio_rate{window}"


def _sli_expr(s: StackSettings, o: Objective, window: str) -> str:
    inv = f'{s.scoring},route="{INVOCATIONS}"'
    if o.threshold_s is None:
        requests = "mlharness_http_requests_total"
        return (
            f'(sum(rate({requests}{{{inv},status=~"5.."}}[{window}])) or vector(0))'
            f" / sum(rate({requests}{{{inv}}}[{window}]))"
        )
    histogram = "mlharness_http_request_duration_seconds"
    total = f"sum(rate({histogram}_count{{{inv}}}[{window}]))"
    good = f'sum(rate({histogram}_bucket{{{inv},le="{_le(o.threshold_s)}"}}[{window}]))'
    return f"({total} - {good}) / {total}"


def _sel(o: Objective, window: str) -> str:
    return f'{sli_record(window)}{{slo="{o.sli}"}}'


def slo_rules(s: StackSettings) -> list[RecordingRule]:
    """The SLI ratios per window, then objective, budget, budget left, burn rate and SLI."""
    slo = s.slo
    if slo is None:
        return []
    fast = FAST
    rules: list[RecordingRule] = []
    for o in slo.objectives:
        for window_s in slo.windows_s():
            w = duration(window_s)
            rules.append(
                RecordingRule(sli_record(w), _sli_expr(s, o, w), {"slo": o.sli, "window": w})
            )
    for o in slo.objectives:
        b = number(o.budget)
        rules += [
            RecordingRule("slo:objective:ratio", f"vector({number(o.ratio)})", {"slo": o.sli}),
            RecordingRule("slo:error_budget:ratio", f"vector({b})", {"slo": o.sli}),
            RecordingRule(
                "slo:error_budget_remaining:ratio",
                f"1 - sum without (window) ({_sel(o, slo.window)}) / {b}",
                {"slo": o.sli},
            ),
            *(
                RecordingRule(
                    "slo:burn_rate:ratio",
                    f"sum without (window) ({_sel(o, duration(w))}) / {b}",
                    {"slo": o.sli, "window": duration(w)},
                )
                for w in (slo.short_s(fast), slo.long_s(fast))
            ),
            RecordingRule(
                "slo:sli:ratio",
                f"1 - sum without (window) ({_sel(o, duration(slo.long_s(fast)))})",
                {"slo": o.sli, "window": duration(slo.long_s(fast))},
            ),
        ]
    return rules


@dataclass(frozen=True)
class ExprTest:
    """A ``promql_expr_test``: the value a recorded series has at ``eval_s``."""

    name: str
    interval_s: int
    eval_s: int
    series: tuple[Series, ...]
    expr: str
    labels: str
    value: float
    evaluation_s: int


def _traffic(s: StackSettings, o: Objective, segments: list[tuple[int, int]]) -> tuple[Series, ...]:
    """Input series of ``PER_STEP`` requests per sample, ``bad`` of them bad, per segment
    of (bad per sample, samples)."""
    where = f'{s.scoring},route="{INVOCATIONS}",instance="{s.serving.address}"'
    good = counter([(PER_STEP - bad, n) for bad, n in segments])
    bad_values = counter(segments)
    if o.threshold_s is None:
        name = "mlharness_http_requests_total"
        return (
            Series(f'{name}{{{where},status="200"}}', good),
            Series(f'{name}{{{where},status="500"}}', bad_values),
        )
    name = "mlharness_http_request_duration_seconds"
    return (
        Series(f"{name}_count{{{where}}}", counter([(PER_STEP, n) for _, n in segments])),
        Series(f'{name}_bucket{{{where},le="{_le(o.threshold_s)}"}}', good),
    )


def _bad(ratio: float) -> int:
    return max(0, min(PER_STEP, round(ratio * PER_STEP)))


def _intervals(slo: SloSettings) -> tuple[int, int]:
    """Sample (and evaluation) intervals of the page tests and of the ticket tests: a third
    of the shortest window each needs (100 s and 40 m at 30 days), so every short window
    holds three samples and the tests stay cheap."""
    page = min(slo.short_s(a) for a in BURN_RATE_ALERTS if a.severity == "page")
    ticket = min(slo.short_s(a) for a in BURN_RATE_ALERTS if a.severity == "ticket")
    return max(1, page // 3), max(1, ticket // 3)


def _what(o: Objective) -> str:
    if o.threshold_s is None:
        return "5xx answers"
    return f"answers slower than {number(o.threshold_s)} s"


_RUNBOOKS = {
    ("availability", "page"): (
        "Requests fail fast enough to spend the whole budget in days. Read the scoring "
        "server's log for the failing request ids: 500s are exceptions inside the model (a "
        "new version? `mlharness registry rollback`), 503s a full queue (QueueSaturated), "
        "connection errors a dying worker. HighErrorRatio and EndpointDown say which."
    ),
    ("availability", "ticket"): (
        "A steady trickle of 5xx that would spend the budget before the window ends. Not "
        "urgent: find the requests the model raises on in the server log (a class of inputs, "
        "a client sending bad types) and fix the model or the client before the budget is gone."
    ),
    ("latency", "page"): (
        "Too many requests are slower than the threshold, fast enough to spend the budget in "
        "days. Compare queue depth and batch rows on the dashboard: a full queue needs more "
        "capacity (`serving.workers`, `serving.max_batch_rows`); slow predicts with an empty "
        "queue mean a heavier model (ModelVersionChanged) or a starved machine."
    ),
    ("latency", "ticket"): (
        "Latency creeps over the threshold slowly. Not urgent: profile the model's predict "
        "on a typical batch, check the machine's load, and plan capacity before the budget "
        "is gone."
    ),
}


def _alert(s: StackSettings, slo: SloSettings, o: Objective, a: BurnRateAlert) -> Alert:
    long_s, short_s = slo.long_s(a), slo.short_s(a)
    long_w, short_w = duration(long_s), duration(short_s)
    b = number(o.budget)
    limit = a.factor * o.budget
    threshold = f"({number(a.factor)} * {b})"
    expr = (
        f"({_sel(o, long_w)} > {threshold}) and ignoring (window) "
        f"({_sel(o, short_w)} > {threshold})"
    )
    page_interval, ticket_interval = _intervals(slo)
    # A page's own cases at a third of its own short window (the slow page's 30m allow 10
    # minutes: a file of their own); the blip at the fast page's. Each file is evaluated at
    # its cases' own interval.
    interval = max(1, short_s // 3) if a.severity == "page" else ticket_interval
    evaluation = interval
    eval_s = long_s + 2 * interval
    n = math.ceil(eval_s / interval) + 2
    above = limit + min(0.05 * limit, (1 - limit) / 2)
    below = 0.95 * limit
    fired = {"slo": o.sli, "window": long_w}

    def steady(ratio: float) -> tuple[Series, ...]:
        return _traffic(s, o, [(_bad(ratio), n)])

    more: list[TestCase] = []
    if a.severity == "page":
        # A blip: many times the budget, but only for the fast page's short window, after
        # clean traffic as long as the slow page's long window. Neither page fires.
        fast, slow = BURN_RATE_ALERTS[0], BURN_RATE_ALERTS[1]
        blip = min(1.0, slo.long_s(fast) / slo.short_s(fast) / 2 * fast.factor * o.budget)
        clean = math.ceil(slo.long_s(slow) / page_interval) + 2
        burst = max(2, slo.short_s(fast) // page_interval)
        more.append(
            TestCase(
                page_interval,
                (clean + burst) * page_interval,
                _traffic(s, o, [(0, clean), (_bad(blip), burst)]),
                False,
                evaluation_s=page_interval,
                group="blip",
                name=f"a short blip ({percent(blip)} bad for {duration(burst * page_interval)})",
            )
        )
    else:
        # A slow burn at twice the budget for the 1x ticket's long window: only it fires.
        slowest = BURN_RATE_ALERTS[-1]
        burn_eval = slo.long_s(slowest) + 2 * interval
        burn_n = math.ceil(burn_eval / interval) + 2
        burn = _traffic(s, o, [(_bad(2 * o.budget), burn_n)])
        more.append(
            TestCase(
                interval,
                burn_eval,
                burn,
                a is slowest,
                {"slo": o.sli, "window": duration(slo.long_s(slowest))} if a is slowest else {},
                evaluation_s=evaluation,
                name="a slow burn at 2x",
                group="slow burn",
            )
        )
    lasts = duration(max(1, round(slo.window_s / a.factor)))
    return Alert(
        name=f"{o.title}{a.name}",
        severity=SEVERITY[a.severity],
        expr=expr,
        for_s=0,
        summary=(
            f"{o.title} SLO of {s.model}: the error budget burns at {number(a.factor)}x "
            f"({a.severity})"
        ),
        description=(
            f"Over both the last {long_w} and {short_w}, {_what(o)} have been more than "
            f"{number(a.factor)} x {percent(o.budget)} = {percent(limit)} of /invocations "
            f"requests (objective {percent(o.ratio)} over {slo.window}). At this rate the "
            f"whole budget lasts {lasts}; {percent(a.budget_share())} of it went in {long_w}."
        ),
        runbook=_RUNBOOKS[(o.sli, a.severity)],
        labels={"pipeline": s.pipeline, "service": "scoring", "slo": o.sli},
        firing=TestCase(
            interval,
            eval_s,
            steady(above),
            True,
            fired,
            evaluation,
            f"{percent(above)} bad",
            group=f"{a.name} just above",
        ),
        quiet=TestCase(
            interval,
            eval_s,
            steady(below),
            False,
            {},
            evaluation,
            f"{percent(below)} bad",
            group=f"{a.name} just below",
        ),
        more=tuple(more),
        suite="slo",
    )


def slo_alerts(s: StackSettings) -> list[Alert]:
    """Four burn-rate alerts per objective: two page (critical), two ticket (warning)."""
    slo = s.slo
    if slo is None:
        return []
    return [_alert(s, slo, o, a) for o in slo.objectives for a in BURN_RATE_ALERTS]


def budget_tests(s: StackSettings) -> list[ExprTest]:
    """The budget's arithmetic on one example: a burst at 2.5x the budget for the first
    tenth of the data, then clean traffic, spends a quarter of the budget (the share of bad
    requests over the SLO window is 0.25 x budget) and leaves 0.75 of it.

    The data span the 1x ticket's long window (3 days at 30), not the whole SLO window: the
    rate over the window reads whatever data there is, and a month of samples would make
    the test minutes slower for the same arithmetic."""
    slo = s.slo
    if slo is None:
        return []
    _, interval = _intervals(slo)
    tenth = math.ceil(slo.long_s(BURN_RATE_ALERTS[-1]) / interval / 10)
    return [
        ExprTest(
            name=f"{o.title}: a quarter of the budget spent leaves 0.75",
            interval_s=interval,
            eval_s=10 * tenth * interval,
            series=_traffic(s, o, [(_bad(2.5 * o.budget), tenth), (0, 9 * tenth)]),
            # Rounded: (count - bucket) / count is off by float rounding in the 14th digit.
            expr=f'round(slo:error_budget_remaining:ratio{{slo="{o.sli}"}}, 0.0001)',
            labels=f'{{slo="{o.sli}"}}',
            value=0.75,
            evaluation_s=interval,
        )
        for o in slo.objectives
    ]
