"""Every number and address the stack uses, derived once from the pipeline config.

The alerts, recording rules, tests and dashboard read these settings rather than the
config, so a window or a job name is decided in one place (a rate window of four scrape
intervals, as Grafana's ``$__rate_interval``; an event window longer than ``for``, so an
alert on a single event can fire at all).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from harness.kernel.errors import ConfigError
from harness.schemas.pipeline_config import PipelineConfig
from harness.schemas.slo import BURN_RATE_ALERTS, BurnRateAlert, LatencyObjective

__all__ = [
    "JOB_BLACKBOX",
    "JOB_GOLDEN",
    "JOB_MLFLOW",
    "JOB_PUSHGATEWAY",
    "JOB_SCORING",
    "PIPELINE_STACK_MLFLOW",
    "SCORING_SERVICE",
    "Endpoint",
    "Objective",
    "SloSettings",
    "StackSettings",
    "duration",
    "settings_from_config",
]

JOB_SCORING = "scoring"
JOB_MLFLOW = "mlflow"
JOB_PUSHGATEWAY = "pushgateway"
JOB_BLACKBOX = "blackbox"
JOB_GOLDEN = "golden"
# The scoring server's service in our compose file, and the tracking server of the
# pipeline's compose stack (``mlharness airflow render``).
SCORING_SERVICE = "scoring"
PIPELINE_STACK_MLFLOW = "http://mlflow:5000"


def duration(seconds: int) -> str:
    """A Prometheus duration, in the largest unit that divides it (``90s``, ``5m``, ``2d``)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class Endpoint:
    """A service as Prometheus reaches it: ``scheme://host:port`` plus a path prefix."""

    scheme: str
    address: str  # host:port
    path: str

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.address}{self.path}"


@dataclass(frozen=True)
class Objective:
    """One SLO: the SLI's name (``availability``, ``latency``) and the share of good requests."""

    sli: str
    ratio: float  # e.g. 0.995
    threshold_s: float | None = None  # latency: the bucket bound a good request is under

    @property
    def budget(self) -> float:
        """The error budget: the share of requests allowed to be bad (0.005)."""
        return round(1 - self.ratio, 12)

    @property
    def title(self) -> str:
        return self.sli.capitalize()


@dataclass(frozen=True)
class SloSettings:
    """The SLO window and objectives; burn-rate windows are fractions of the window."""

    window_s: int
    objectives: tuple[Objective, ...]

    @property
    def window(self) -> str:
        return duration(self.window_s)

    def long_s(self, alert: BurnRateAlert) -> int:
        return alert.long_s(self.window_s)

    def short_s(self, alert: BurnRateAlert) -> int:
        return alert.short_s(self.window_s)

    def windows_s(self) -> list[int]:
        """Every window an SLI is recorded over: the alerts' and the SLO window itself."""
        found = {self.window_s}
        for alert in BURN_RATE_ALERTS:
            found |= {self.long_s(alert), self.short_s(alert)}
        return sorted(found)


@dataclass(frozen=True)
class StackSettings:
    """What the templates and the rule definitions need, and nothing else."""

    pipeline: str
    model: str
    alias: str
    scrape_s: int
    evaluation_s: int
    for_s: int
    rate_window_s: int
    event_window_s: int
    p99_latency_s: float
    error_ratio: float
    queue_saturation: float
    feature_drift_score: float
    dataset_drift_share: float
    drift_check_max_age_s: int
    no_traffic_minutes: int
    model_max_age_s: int
    features: tuple[str, ...]
    serving: Endpoint
    serve_args: tuple[str, ...]  # mlharness serve options of the compose service
    mlflow: Endpoint | None
    pushgateway: Endpoint
    alertmanager: Endpoint
    blackbox: Endpoint
    slack_api_url_file: str | None
    slack_channel: str
    webhook_url_file: str | None
    group_wait_s: int
    repeat_interval_s: int
    heartbeat_url_file: str | None = None
    heartbeat_interval_s: int = 300
    golden: tuple[str, ...] = ()  # the golden probes' names
    slo: SloSettings | None = None

    @property
    def rate_window(self) -> str:
        return duration(self.rate_window_s)

    @property
    def event_window(self) -> str:
        return duration(self.event_window_s)

    @property
    def scoring(self) -> str:
        """The selector of the scoring server's own series."""
        return f'job="{JOB_SCORING}"'

    def scrape_jobs(self) -> list[tuple[str, str]]:
        """(job, service) of every scrape job prometheus.yml holds."""
        jobs = [(JOB_SCORING, "scoring")]
        if self.mlflow is not None:
            jobs.append((JOB_MLFLOW, "mlflow"))
        jobs += [(JOB_PUSHGATEWAY, "pushgateway"), (JOB_BLACKBOX, "blackbox")]
        if self.golden:
            jobs.append((JOB_GOLDEN, "scoring"))
        return jobs


def _endpoint(url: str, key: str, problems: list[str]) -> Endpoint:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append(f"{key}: {url!r} is not an http(s) URL with a host")
        return Endpoint("http", "invalid:0", "")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        problems.append(f"{key}: {url!r} has an invalid port")
        return Endpoint("http", "invalid:0", "")
    return Endpoint(parts.scheme, f"{parts.hostname}:{port}", parts.path.rstrip("/"))


def settings_from_config(config: PipelineConfig, source: str) -> StackSettings:
    """The stack's settings; every address problem is reported at once with its key path."""
    mon = config.monitoring
    problems: list[str] = []
    # Defaults are the compose services (the pipeline stack's ``mlflow``, our ``scoring``).
    serving_url = mon.serving_url or f"http://{SCORING_SERVICE}:{config.serving.port}"
    serving = _endpoint(serving_url, "monitoring.serving_url", problems)
    mlflow: Endpoint | None = None
    if mon.mlflow_url:
        mlflow = _endpoint(mon.mlflow_url, "monitoring.mlflow_url", problems)
    elif mon.mlflow_url is None:
        tracking = config.tracking_uri or ""
        if tracking.startswith(("http://", "https://")):
            mlflow = _endpoint(tracking, "tracking_uri", problems)
        else:
            mlflow = _endpoint(PIPELINE_STACK_MLFLOW, "monitoring.mlflow_url", problems)
    pushgateway = _endpoint(mon.pushgateway_url, "monitoring.pushgateway_url", problems)
    alertmanager = _endpoint(mon.alertmanager_url, "monitoring.alertmanager_url", problems)
    blackbox = _endpoint(mon.blackbox_url, "monitoring.blackbox_url", problems)
    for i, feature in enumerate(mon.features):
        if not feature or any(c in feature for c in '"\\|{}\n'):
            problems.append(f"monitoring.features[{i}]: {feature!r} cannot be a label value here")
    if config.slo is not None:
        problems += config.slo.window_problems(mon.scrape_interval_s)
    if problems:
        raise ConfigError(source, problems)
    scrape = mon.scrape_interval_s
    evaluation = mon.evaluation_interval_s
    rate_window = 4 * scrape
    return StackSettings(
        pipeline=config.name,
        model=config.model.name,
        alias=config.promotion.alias,
        scrape_s=scrape,
        evaluation_s=evaluation,
        for_s=mon.alert_for_s,
        rate_window_s=rate_window,
        event_window_s=mon.alert_for_s + max(4 * scrape, 4 * evaluation, 60),
        p99_latency_s=mon.thresholds.p99_latency_s,
        error_ratio=mon.thresholds.error_ratio,
        queue_saturation=mon.thresholds.queue_saturation,
        feature_drift_score=mon.thresholds.feature_drift_score,
        dataset_drift_share=mon.thresholds.dataset_drift_share,
        drift_check_max_age_s=mon.thresholds.drift_check_max_age_s,
        no_traffic_minutes=mon.thresholds.no_traffic_minutes,
        features=tuple(mon.features),
        serving=serving,
        serve_args=(
            f"--workers={config.serving.workers}",
            f"--max-batch-rows={config.serving.max_batch_rows}",
            f"--max-batch-delay-ms={config.serving.max_batch_delay_ms:g}",
            f"--max-queue-rows={config.serving.max_queue_rows}",
            f"--max-request-bytes={config.serving.max_request_bytes}",
            f"--reload-interval={config.serving.reload_interval_s:g}",
        ),
        mlflow=mlflow,
        pushgateway=pushgateway,
        alertmanager=alertmanager,
        blackbox=blackbox,
        slack_api_url_file=mon.alerts.slack_api_url_file,
        slack_channel=mon.alerts.slack_channel,
        webhook_url_file=mon.alerts.webhook_url_file,
        group_wait_s=mon.alerts.group_wait_s,
        repeat_interval_s=mon.alerts.repeat_interval_s,
        heartbeat_url_file=mon.alerts.heartbeat_url_file,
        heartbeat_interval_s=mon.alerts.heartbeat_interval_s,
        model_max_age_s=mon.thresholds.model_max_age_s,
        golden=tuple(mon.golden.names()),
        slo=_slo(config),
    )


def _slo(config: PipelineConfig) -> SloSettings | None:
    if config.slo is None:
        return None
    objectives = []
    for sli, objective in config.slo.objectives().items():
        threshold = objective.threshold_s if isinstance(objective, LatencyObjective) else None
        objectives.append(Objective(sli, round(objective.objective_percent / 100, 12), threshold))
    return SloSettings(config.slo.window_s, tuple(objectives))
