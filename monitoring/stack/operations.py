"""The render operation: pipeline config -> stack context -> cookiecutter -> OUT, all or nothing.

cookiecutter renders ``templates/monitoring-stack`` with no input into a staging directory
beside OUT; only a complete rendering replaces OUT (``harness.templating.render_tree``,
placement ``swap``), so a failure leaves the old stack as it was. Nothing in the output
depends on time or on the machine, so an unchanged config re-renders byte-identical
(``changed`` says whether any byte differs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from harness import __version__
from harness.kernel.errors import MlharnessError
from harness.schemas.pipeline_config import load
from harness.templating import TEMPLATES_DIR, TemplateError, render_tree
from monitoring.stack.alerts import SEVERITIES, Alert, alerts_for
from monitoring.stack.dashboard import DATASOURCE_UID, GRAFANA_IMAGE, SCHEMA_VERSION, dashboard_json
from monitoring.stack.rules import recording_rules
from monitoring.stack.settings import (
    JOB_BLACKBOX,
    JOB_MLFLOW,
    JOB_PUSHGATEWAY,
    JOB_SCORING,
    PIPELINE_STACK_MLFLOW,
    StackSettings,
    duration,
    settings_from_config,
)

__all__ = [
    "MARKER",
    "NETWORK",
    "RECEIVER_PREFIX",
    "RUNBOOK_BASE",
    "TEMPLATE_DIR",
    "StackContext",
    "StackFiles",
    "stack_context",
    "write_stack",
]

TEMPLATE_DIR = TEMPLATES_DIR / "monitoring-stack"
# The compose network of the pipeline's stack (orchestration renders it with this name).
NETWORK = "mlharness"
RECEIVER_PREFIX = "mlharness"
RUNBOOK_BASE = "README.md"
# A file every rendered stack has: OUT is replaced only when it holds one (or is empty).
MARKER = "prometheus.yml"
IMAGES = {
    "prometheus": "prom/prometheus:v2.42.0",
    "alertmanager": "prom/alertmanager:v0.25.0",
    "blackbox": "prom/blackbox-exporter:v0.23.0",
    "pushgateway": "prom/pushgateway:v1.5.1",
    "grafana": GRAFANA_IMAGE,
}
TREE = """\
OUT/
├── README.md                      alerts table, runbooks, Slack routing
├── prometheus.yml                 scrape jobs, rule files, Alertmanager
├── alerts/mlharness-alerts.yml    the alerting rules
├── rules/mlharness-recording.yml  a recording rule per dashboard query
├── tests/mlharness-alerts.test.yml       promtool tests: each alert fires once and stays
├── tests/mlharness-slow-alerts.test.yml  quiet once (slow: cases spanning days)
├── alertmanager.yml               routes by severity, receivers, inhibition
├── blackbox.yml                   the http_2xx probe module
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


@dataclass(frozen=True)
class StackFiles:
    """What was (or would be) written."""

    config: str
    out: str
    files: list[str]
    digest: str
    changed: bool
    dry_run: bool
    alerts: list[str]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


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


def _tests(alerts: list[Alert], *, slow: bool) -> list[dict[str, object]]:
    """The promtool test groups, either the ones at the rules' interval or the slow ones."""
    tests: list[dict[str, object]] = []
    for a in alerts:
        for case in (a.firing, a.quiet):
            if (case.evaluation_s is not None) != slow:
                continue
            expected = []
            if case.fires:
                expected.append(
                    {
                        "exp_labels": {**case.labels, **a.rule_labels()},
                        "exp_annotations": a.expected_annotations(RUNBOOK_BASE),
                    }
                )
            tests.append(
                {
                    "name": f"{a.name} {'fires' if case.fires else 'stays quiet'}",
                    "alertname": a.name,
                    "interval": case.interval,
                    "eval_time": case.eval_time,
                    "series": [{"series": x.series, "values": x.values} for x in case.series],
                    "exp_alerts": expected,
                }
            )
    return tests


def _receivers(s: StackSettings) -> list[dict[str, object]]:
    configs = []
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
    return [
        {"name": f"{RECEIVER_PREFIX}-{severity}", "slack_configs": configs}
        for severity in SEVERITIES
    ]


def stack_context(s: StackSettings, source: str) -> StackContext:
    """Everything the template reads, as plain data (cookiecutter's private ``_stack``)."""
    alerts = alerts_for(s)
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
        "probe_timeout": duration(min(s.scrape_s, 5)),
        "jobs": {
            "scoring": JOB_SCORING,
            "mlflow": JOB_MLFLOW,
            "pushgateway": JOB_PUSHGATEWAY,
            "blackbox": JOB_BLACKBOX,
        },
        "serving": asdict(s.serving),
        "mlflow": asdict(s.mlflow) if s.mlflow else None,
        "pushgateway": asdict(s.pushgateway),
        "alertmanager": asdict(s.alertmanager),
        "blackbox": asdict(s.blackbox),
        "probes": probes,
        "scoring": {
            "image": f"mlharness-airflow:{__version__}",
            "model_uri": f"models:/{s.model}@{s.alias}",
            "port": s.serving.address.rsplit(":", 1)[1],
            "args": list(s.serve_args),
            "tracking_uri": s.mlflow.url if s.mlflow else PIPELINE_STACK_MLFLOW,
        },
        "alerts": [_alert_dict(a) for a in alerts],
        "rules": [asdict(r) for r in recording_rules(s)],
        "tests": _tests(alerts, slow=False),
        "slow_tests": _tests(alerts, slow=True),
        "slow_evaluation_interval": duration(
            max([c.evaluation_s or 0 for a in alerts for c in (a.firing, a.quiet)] + [1])
        ),
        "severities": list(SEVERITIES),
        "receiver_prefix": RECEIVER_PREFIX,
        "default_receiver": f"{RECEIVER_PREFIX}-default",
        "receivers": _receivers(s),
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


def _replaceable(out: Path) -> None:
    if not out.is_dir():
        raise MlharnessError(f"{out} exists and is not a directory", hint="choose another -o")
    if any(out.iterdir()) and not (out / MARKER).is_file():
        raise MlharnessError(
            f"{out} is not empty and holds no rendered stack ({MARKER})",
            hint="choose an empty or new directory for -o",
        )


def write_stack(
    config_path: Path,
    out: Path,
    *,
    dry_run: bool = False,
    urls: Mapping[str, str] | None = None,
) -> StackFiles:
    """Render the stack of ``config_path`` into ``out`` (or only say what would change).

    ``urls`` replaces the config's ``monitoring`` addresses (``serving_url``, ``mlflow_url``,
    ``pushgateway_url``, ``alertmanager_url``, ``blackbox_url``): ``mlharness up`` points the
    same files at the services it runs on this machine."""
    config = load(config_path)
    if urls:
        monitoring = config.monitoring.model_copy(update=dict(urls))
        config = config.model_copy(update={"monitoring": monitoring})
    settings = settings_from_config(config, str(config_path))
    context = stack_context(settings, config_path.name)
    out = out.resolve()
    try:
        tree = render_tree(
            TEMPLATE_DIR,
            {"_stack": context, "stack_dir": "stack"},
            out.parent,
            name=out.name,
            dry_run=dry_run,
            may_replace=_replaceable,
        )
    except TemplateError as exc:
        raise MlharnessError(
            f"rendering {TEMPLATE_DIR} failed: {exc.__cause__}", hint="a bug in the template"
        ) from exc
    return StackFiles(
        config=str(config_path),
        out=str(out),
        files=tree.files,
        digest=tree.digest,
        changed=not tree.same,
        dry_run=dry_run,
        alerts=[a.name for a in alerts_for(settings)],
    )
