"""The stack context: everything ``templates/monitoring-stack`` reads, as plain data.

Settings, alerts, rules, tests, probes and the dashboard become one dictionary
(cookiecutter's private ``_stack``); the templates only lay it out. Nothing here depends on
time or on the machine, so an unchanged config gives an identical context.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import cast

from harness import __version__
from monitoring.stack.alert_types import SEVERITIES, Alert
from monitoring.stack.alerts import alerts_for
from monitoring.stack.dashboard import DATASOURCE_UID, GRAFANA_IMAGE, SCHEMA_VERSION, dashboard_json
from monitoring.stack.golden import GoldenProbe, expected_json, modules_yaml
from monitoring.stack.meta import WATCHDOG
from monitoring.stack.rules import recording_rules
from monitoring.stack.settings import (
    JOB_BLACKBOX,
    JOB_GOLDEN,
    JOB_MLFLOW,
    JOB_PUSHGATEWAY,
    JOB_SCORING,
    PIPELINE_STACK_MLFLOW,
    StackSettings,
    duration,
)
from monitoring.stack.slo import ALERTS_GROUP, RULES_GROUP, budget_tests, slo_rules

__all__ = [
    "BATCH_DRIFT_ALERTS",
    "HEARTBEAT_RECEIVER",
    "IMAGES",
    "NETWORK",
    "ONLINE_DRIFT_ALERTS",
    "RECEIVER_PREFIX",
    "RUNBOOK_BASE",
    "StackContext",
    "stack_context",
]

# The compose network of the pipeline's stack (orchestration renders it with this name).
NETWORK = "mlharness"
RECEIVER_PREFIX = "mlharness"
HEARTBEAT_RECEIVER = f"{RECEIVER_PREFIX}-heartbeat"
RUNBOOK_BASE = "README.md"
# Drift alerts an outage explains: the online ones while the scoring server (whose inputs
# they judge) is down, the batch ones while the Pushgateway (which holds their gauges) is.
ONLINE_DRIFT_ALERTS = ("FeatureDrift", "DriftMetricsAbsent")
BATCH_DRIFT_ALERTS = ("DatasetDrift", "DriftCheckStale", "DriftMetricsAbsent")
IMAGES = {
    "prometheus": "prom/prometheus:v2.42.0",
    "alertmanager": "prom/alertmanager:v0.25.0",
    "blackbox": "prom/blackbox-exporter:v0.23.0",
    "pushgateway": "prom/pushgateway:v1.5.1",
    "grafana": GRAFANA_IMAGE,
}
TREE = """\
OUT/
├── README.md                      alerts table, runbooks, SLOs, Slack routing
├── prometheus.yml                 scrape jobs, rule files, Alertmanager
├── alerts/mlharness-alerts.yml    the alerting rules
├── alerts/mlharness-slo-alerts.yml  burn-rate alerts of the SLOs (slo section)
├── rules/mlharness-recording.yml  a recording rule per dashboard query
├── rules/mlharness-slo.yml        SLI ratios per window, error budgets
├── tests/mlharness-alerts.test.yml       promtool tests: each alert fires once and stays
├── tests/mlharness-slow-alerts.test.yml  quiet once (slow: cases spanning days)
├── tests/mlharness-slo.test.yml          burn rates at the boundaries (fast page, blip)
├── tests/mlharness-slo-slow-page.test.yml  the slow page at its boundaries
├── tests/mlharness-slo-slow.test.yml     tickets, slow burn, budget arithmetic
├── alertmanager.yml               routes by severity, heartbeat, receivers, inhibition
├── blackbox.yml                   the http_2xx probe module and the golden requests'
├── golden/expected.json           the golden answers and where they came from
├── grafana/
│   ├── dashboards/mlharness-model.json
│   └── provisioning/{datasources,dashboards}/*.yml
├── docker-compose.monitoring.yaml scoring + monitoring services on the pipeline stack's network
├── .env.example                   GRAFANA_ADMIN_PASSWORD (copy to .env)
├── .gitignore                     .env and the receivers' URL files stay out of git
└── secrets/README.md              where the receivers' URL files go"""

SLACK_TITLE = (
    "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} "
    "({{ .CommonLabels.severity }}, {{ .CommonLabels.service }})"
)
SLACK_TEXT = (
    "{{ range .Alerts }}*{{ .Annotations.summary }}*\n{{ .Annotations.description }}\n"
    "Runbook: {{ .Annotations.runbook_url }}\n{{ end }}"
)

StackContext = dict[str, object]


def _alert_dict(a: Alert) -> dict[str, object]:
    return {
        "name": a.name,
        "severity": a.severity,
        "expr": a.expr,
        "expr_md": a.expr.replace("|", "\\|"),
        "for": a.for_,
        "labels": a.rule_labels(),
        "annotations": a.annotations(RUNBOOK_BASE),
        "anchor": a.anchor,
        "summary_md": a.summary.replace("{{ $labels.", "<").replace(" }}", ">"),
        "runbook": a.runbook,
    }


def _tests(
    alerts: list[Alert], *, slow: bool, evaluation_s: int | None = None
) -> list[dict[str, object]]:
    """The promtool test groups of ``alerts``: the ones at the rules' interval or the slow
    ones (cases with an evaluation interval of their own; ``evaluation_s``: only the ones
    at that interval). Cases on the same input series share one group (promtool evaluates
    the rules once for all of them)."""
    tests: list[dict[str, object]] = []
    groups: dict[tuple[object, ...], dict[str, object]] = {}
    for a in alerts:
        for case in a.cases():
            if (case.evaluation_s is not None) != slow:
                continue
            if evaluation_s is not None and case.evaluation_s != evaluation_s:
                continue
            expected = []
            if case.fires:
                expected.append(
                    {
                        "exp_labels": {**case.labels, **a.rule_labels()},
                        "exp_annotations": a.expected_annotations(RUNBOOK_BASE, case),
                    }
                )
            what = "fires" if case.fires else "stays quiet"
            name = f"{a.name} {what}" + (f": {case.name}" if case.name else "")
            check = {"eval_time": case.eval_time, "alertname": a.name, "exp_alerts": expected}
            key: tuple[object, ...] = (
                ("group", case.group, case.interval_s)
                if case.group
                else ("series", case.interval_s, case.series)
            )
            if case.series and key in groups:
                group = groups[key]
                group["name"] = f"{group['name']}; {name}"
                cast(list[object], group["alert_rule_test"]).append(check)
                series = cast(list[dict[str, str]], group["series"])
                for x in case.series:
                    if {"series": x.series, "values": x.values} not in series:
                        series.append({"series": x.series, "values": x.values})
                continue
            group = {
                "name": name,
                "interval": case.interval,
                "series": [{"series": x.series, "values": x.values} for x in case.series],
                "alert_rule_test": [check],
                "promql_expr_test": [],
            }
            groups[key] = group
            tests.append(group)
    return tests


def _evaluation(alerts: list[Alert], default_s: int) -> str:
    """The slow file's evaluation interval: the coarsest any of its cases asks for."""
    found = [c.evaluation_s for a in alerts for c in a.cases() if c.evaluation_s is not None]
    return duration(max(found) if found else default_s)


def _slo_slow_tests(s: StackSettings, alerts: list[Alert]) -> list[dict[str, object]]:
    """The tickets' cases and the budget's arithmetic (one promql_expr_test group)."""
    tests = _tests(alerts, slow=True)
    budget = budget_tests(s)
    if budget:
        tests.append(
            {
                "name": "; ".join(t.name for t in budget),
                "interval": duration(budget[0].interval_s),
                "series": [
                    {"series": x.series, "values": x.values} for t in budget for x in t.series
                ],
                "alert_rule_test": [],
                "promql_expr_test": [
                    {
                        "expr": t.expr,
                        "eval_time": duration(t.eval_s),
                        "exp_samples": [{"labels": t.labels, "value": t.value}],
                    }
                    for t in budget
                ],
            }
        )
    return tests


def _slack_configs(s: StackSettings) -> list[dict[str, object]]:
    configs: list[dict[str, object]] = []
    if s.slack_api_url_file:
        configs.append(
            {
                "api_url_file": s.slack_api_url_file,
                "channel": s.slack_channel,
                "comment": "Slack (monitoring.alerts.slack_api_url_file)",
            }
        )
    if s.webhook_url_file:
        configs.append(
            {
                "api_url_file": s.webhook_url_file,
                "channel": s.slack_channel,
                "comment": "Slack-format webhook (monitoring.alerts.webhook_url_file)",
            }
        )
    return configs


def _receivers(s: StackSettings) -> list[dict[str, object]]:
    configs = _slack_configs(s)
    heartbeat: list[dict[str, object]] = []
    if s.heartbeat_url_file:
        heartbeat.append(
            {
                "api_url_file": s.heartbeat_url_file,
                "channel": s.slack_channel,
                "comment": "the dead man's switch (monitoring.alerts.heartbeat_url_file)",
            }
        )
    receivers: list[dict[str, object]] = [{"name": HEARTBEAT_RECEIVER, "slack_configs": heartbeat}]
    for severity in SEVERITIES:
        receivers.append({"name": f"{RECEIVER_PREFIX}-{severity}", "slack_configs": configs})
    return receivers


def _inhibitions() -> list[dict[str, object]]:
    return [
        {
            "comment": "A critical alert of a service silences that service's warnings "
            "(EndpointDown explains NoTraffic, latency and errors).",
            "source": ['severity="critical"'],
            "target": ['severity="warning"'],
            "equal": ["pipeline", "service"],
        },
        {
            "comment": "While the scoring server is down, the online drift alerts judge "
            "missing inputs: silence them.",
            "source": ['alertname="EndpointDown"', 'service="scoring"'],
            "target": [f'alertname=~"{"|".join(ONLINE_DRIFT_ALERTS)}"', 'source!="batch"'],
            "equal": ["pipeline"],
        },
        {
            "comment": "While the Pushgateway is down, the batch drift alerts judge stale or "
            "missing gauges: silence them.",
            "source": ['alertname="EndpointDown"', 'service="pushgateway"'],
            "target": [f'alertname=~"{"|".join(BATCH_DRIFT_ALERTS)}"', 'source!="online"'],
            "equal": ["pipeline"],
        },
    ]


def stack_context(
    s: StackSettings, source: str, golden: list[GoldenProbe] | None = None
) -> StackContext:
    """Everything the template reads (``golden``: the probes with their expected answers)."""
    alerts = alerts_for(s)
    main = [a for a in alerts if a.suite == "alerts"]
    slo = [a for a in alerts if a.suite == "slo"]
    golden = golden or []
    probe_timeout = duration(min(s.scrape_s, 5))
    # The Pushgateway is probed too: when it is down the pushed series go stale, and
    # DriftCheckStale (which needs them) cannot fire.
    probes = [
        {"service": "scoring", "url": f"{s.serving.url}/ping"},
        {"service": "pushgateway", "url": f"{s.pushgateway.url}/-/healthy"},
    ]
    if s.mlflow is not None:
        probes.append({"service": "mlflow", "url": f"{s.mlflow.url}/health"})
    return {
        "source": source,
        "pipeline": s.pipeline,
        "model": s.model,
        "alias": s.alias,
        "scrape_interval": duration(s.scrape_s),
        "scrape_timeout": duration(min(s.scrape_s, 10)),
        "evaluation_interval": duration(s.evaluation_s),
        "probe_timeout": probe_timeout,
        "jobs": {
            "scoring": JOB_SCORING,
            "mlflow": JOB_MLFLOW,
            "pushgateway": JOB_PUSHGATEWAY,
            "blackbox": JOB_BLACKBOX,
            "golden": JOB_GOLDEN,
        },
        "serving": asdict(s.serving),
        "mlflow": asdict(s.mlflow) if s.mlflow else None,
        "pushgateway": asdict(s.pushgateway),
        "alertmanager": asdict(s.alertmanager),
        "blackbox": asdict(s.blackbox),
        "probes": probes,
        "golden_probes": [
            {"name": p.name, "module": p.module, "url": f"{s.serving.url}/invocations"}
            for p in golden
        ],
        "golden_modules": modules_yaml(golden, probe_timeout),
        "golden_expected": expected_json(golden),
        "scoring": {
            "image": f"mlharness-airflow:{__version__}",
            "model_uri": f"models:/{s.model}@{s.alias}",
            "port": s.serving.address.rsplit(":", 1)[1],
            "args": list(s.serve_args),
            "tracking_uri": s.mlflow.url if s.mlflow else PIPELINE_STACK_MLFLOW,
        },
        "alerts": [_alert_dict(a) for a in main],
        "all_alerts": [_alert_dict(a) for a in alerts],
        "rules": [asdict(r) for r in recording_rules(s)],
        "tests": _tests(main, slow=False),
        "slow_tests": _tests(main, slow=True),
        "slow_evaluation_interval": _evaluation(main, 1),
        "slo": _slo_context(s, slo),
        "severities": list(SEVERITIES),
        "receiver_prefix": RECEIVER_PREFIX,
        "default_receiver": f"{RECEIVER_PREFIX}-default",
        "receivers": _receivers(s),
        "heartbeat": {
            "receiver": HEARTBEAT_RECEIVER,
            "alertname": WATCHDOG,
            "interval": duration(s.heartbeat_interval_s),
        },
        "inhibit_rules": _inhibitions(),
        "slack_title": SLACK_TITLE,
        "slack_text": SLACK_TEXT,
        "group_wait": duration(s.group_wait_s),
        "group_interval": duration(max(s.group_wait_s, 300)),
        "repeat_interval": duration(s.repeat_interval_s),
        "dashboard": dashboard_json(s),
        "datasource_uid": DATASOURCE_UID,
        "schema_version": SCHEMA_VERSION,
        "images": IMAGES,
        "network": NETWORK,
        "tree": TREE,
    }


def _slo_context(s: StackSettings, alerts: list[Alert]) -> dict[str, object]:
    slo = s.slo
    pages = [a for a in alerts if a.severity == "critical"]
    tickets = [a for a in alerts if a.severity != "critical"]
    page_evaluations = sorted(
        {c.evaluation_s for a in pages for c in a.cases() if c.evaluation_s is not None}
    )
    # Two page alerts: the fast one's interval (its cases and the blip), the slow one's.
    fast = page_evaluations[0] if page_evaluations else None
    slow_page = page_evaluations[-1] if len(page_evaluations) > 1 else None
    return {
        "enabled": slo is not None,
        "window": slo.window if slo else "",
        "objectives": [
            {"sli": o.sli, "objective": o.ratio, "budget": o.budget, "threshold_s": o.threshold_s}
            for o in (slo.objectives if slo else ())
        ],
        "rules_group": RULES_GROUP,
        "alerts_group": ALERTS_GROUP,
        "rules": [asdict(r) for r in slo_rules(s)],
        "alerts": [_alert_dict(a) for a in alerts],
        # Every SLO case has its own evaluation interval: the fast page's cases and the
        # blip in one file, the slow page's in another, tickets (and the budget's
        # arithmetic) in a third, each at the coarsest interval it allows.
        "tests": _tests(pages, slow=True, evaluation_s=fast),
        "evaluation_interval": duration(fast or s.evaluation_s),
        "slow_page_tests": _tests(pages, slow=True, evaluation_s=slow_page) if slow_page else [],
        "slow_page_evaluation_interval": duration(slow_page or s.evaluation_s),
        "slow_tests": _slo_slow_tests(s, tickets),
        "slow_evaluation_interval": _evaluation(tickets, s.evaluation_s),
    }
