"""The pipeline config: one YAML file that names a project, its steps, the registered model,
the promotion gates, the schedule, serving and monitoring.

Every generated artifact (Airflow DAGs, the compose stack, Prometheus/Alertmanager/blackbox
configs, alert rules, dashboards) is rendered from this one model, like a monitoring mixin:
change the file, re-render everything. It is defined here, in ``harness``, because both
``orchestration`` and ``monitoring`` read it and ``harness`` is the layer both may import.

Every model forbids unknown keys, so a typo is an error with its key path rather than a
setting silently ignored.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)

from harness.kernel.errors import ConfigError
from harness.schemas.slo import GoldenRequests, SLOConfig
from harness.schemas.validation import validate

__all__ = [
    "AlertRoutes",
    "DriftCheck",
    "ModelSection",
    "MonitoringConfig",
    "ParamValue",
    "PipelineConfig",
    "ProjectSource",
    "PromotionConfig",
    "SensorConfig",
    "ServingConfig",
    "StepConfig",
    "Thresholds",
    "load",
]

Name = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=64)]


def _scalar(value: object) -> str | int | float | bool:
    """One check (and one error line) for a parameter value, not one per union branch."""
    if isinstance(value, str | int | float | bool):
        return value
    kind = "null" if value is None else type(value).__name__
    raise ValueError(f"expected a string, number or boolean, got {kind}")


# A parameter value as written in YAML; ``mlharness run`` receives it as text. A string
# ``${steps.<step>.run_id}`` / ``${steps.<step>.model_uri}`` / ``${steps.<step>.artifact:<path>}``
# refers to an upstream step's run (resolved by the DAG task at run time).
ParamValue = Annotated[
    str | int | float | bool,
    PlainValidator(_scalar),
    WithJsonSchema({"type": ["string", "integer", "number", "boolean"]}),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProjectSource(_Strict):
    """Where the project is: a local path (relative to the config file) or a Git URL."""

    path: str | None = Field(None, description="Project directory, relative to this file.")
    git: str | None = Field(None, description="Git URL, optionally ending in #subdir.")
    version: str | None = Field(None, description="Branch, tag or commit of a Git project.")

    @model_validator(mode="after")
    def _one_source(self) -> ProjectSource:
        if (self.path is None) == (self.git is None):
            raise ValueError("give exactly one of path and git")
        if self.version is not None and self.git is None:
            raise ValueError("version applies to a git project only")
        return self


class StepConfig(_Strict):
    """One pipeline step: an entry point of the project, run through ``mlharness run``."""

    name: Name
    entry_point: str = "main"
    params: dict[str, ParamValue] = Field(default_factory=dict)
    depends_on: list[Name] = Field(default_factory=list)
    timeout_s: int | None = Field(None, gt=0, description="Airflow execution timeout.")


class ModelSection(_Strict):
    """The registered model the pipeline trains."""

    name: str = Field(description="Registered model name.")
    from_step: Name | None = Field(
        None, description="Step whose run's model is registered (default: the last step)."
    )
    artifact_path: str = Field("model", description="The model's name in that run.")


class PromotionConfig(_Strict):
    """Gated promotion of the registered version to an alias."""

    alias: str = "champion"
    gates: list[str] = Field(default_factory=list, description="e.g. accuracy>=0.9")
    on_fail: Literal["skip", "fail"] = Field(
        "skip", description="skip: the DAG run succeeds without promoting; fail: it fails."
    )


class SensorConfig(_Strict):
    """Wait for data before training: a file path or an Airflow asset URI."""

    file: str | None = None
    asset: str | None = None
    poke_interval_s: int = Field(60, gt=0)
    timeout_s: int = Field(3600, gt=0)

    @model_validator(mode="after")
    def _one_kind(self) -> SensorConfig:
        if (self.file is None) == (self.asset is None):
            raise ValueError("give exactly one of file and asset")
        return self


class ServingConfig(_Strict):
    """``mlharness serve`` of ``models:/<model.name>@<promotion.alias>``."""

    host: str = "127.0.0.1"
    port: int = Field(5001, ge=1, le=65535)
    workers: int = Field(1, ge=1)
    max_batch_rows: int = Field(64, ge=1)
    max_batch_delay_ms: float = Field(2.0, ge=0)
    max_queue_rows: int = Field(4096, ge=1)
    max_request_bytes: int = Field(10_000_000, ge=1)
    reload_interval_s: float = Field(30.0, gt=0)


class DriftCheck(_Strict):
    """The scheduled drift check (the drift DAG)."""

    schedule: str | None = Field("@daily", description="Cron or preset; null: on the asset only.")
    batches: str = Field(
        "data/batches/*.csv", description="Glob of batch files; the newest one is checked."
    )
    reference_profile: str | None = Field(
        None, description="Profile JSON (default: the champion's logged reference profile)."
    )
    drift_share: float = Field(0.5, gt=0, le=1)
    stattest: dict[str, str] = Field(
        default_factory=dict, description="Per-feature METHOD[:THRESHOLD], e.g. psi:0.2."
    )
    on_drift: Literal["fail", "retrain"] = "fail"


class Thresholds(_Strict):
    """Alert thresholds; every alert's expression reads its number from here."""

    p99_latency_s: float = Field(0.5, gt=0)
    error_ratio: float = Field(0.05, gt=0, le=1)
    queue_saturation: float = Field(0.8, gt=0, le=1)
    feature_drift_score: float = Field(0.1, gt=0, description="Online drift gauge threshold.")
    dataset_drift_share: float = Field(0.5, gt=0, le=1)
    drift_check_max_age_s: int = Field(2 * 86400, gt=0)
    no_traffic_minutes: int = Field(30, gt=0)
    model_max_age_s: int = Field(
        30 * 86400, gt=0, description="ModelStale: the served version is older than this."
    )


class AlertRoutes(_Strict):
    """Where Alertmanager sends alerts; URLs are read from files, never written inline."""

    slack_api_url_file: str | None = None
    slack_channel: str = "#ml-alerts"
    webhook_url_file: str | None = None
    heartbeat_url_file: str | None = Field(
        None, description="Slack-format URL (a file) that receives the Watchdog heartbeat."
    )
    heartbeat_interval_s: int = Field(300, gt=0, description="How often Watchdog is re-sent.")
    group_wait_s: int = Field(30, ge=0)
    repeat_interval_s: int = Field(4 * 3600, gt=0)


class MonitoringConfig(_Strict):
    """Metrics, drift checks and alerting for the served model."""

    features: list[str] = Field(
        default_factory=list, description="Features to watch (empty: every profiled one)."
    )
    scrape_interval_s: int = Field(15, gt=0)
    evaluation_interval_s: int = Field(15, gt=0)
    alert_for_s: int = Field(300, ge=0, description="How long a condition holds before firing.")
    thresholds: Thresholds = Field(default_factory=Thresholds)
    drift: DriftCheck = Field(default_factory=DriftCheck)
    alerts: AlertRoutes = Field(default_factory=AlertRoutes)
    golden: GoldenRequests = Field(
        default_factory=GoldenRequests, description="Probes that check the model's answers."
    )
    pushgateway_url: str = "http://pushgateway:9091"
    # Where Prometheus reaches each service (the monitoring stack renders these into
    # prometheus.yml; defaults are the compose service names).
    serving_url: str | None = Field(
        None, description="Scoring server as Prometheus sees it (default: http://scoring:PORT)."
    )
    mlflow_url: str | None = Field(
        None,
        description="MLflow server to scrape and probe (default: tracking_uri if http(s), "
        'else http://mlflow:5000; "": none).',
    )
    alertmanager_url: str = "http://alertmanager:9093"
    blackbox_url: str = "http://blackbox:9115"


class PipelineConfig(_Strict):
    """The whole pipeline: ``mlharness config schema`` prints this model's JSON Schema."""

    name: Name = Field(description="Pipeline name; DAG ids are <name>_train and <name>_drift.")
    project: ProjectSource
    env_manager: Literal["local", "uv", "virtualenv", "conda"] = "local"
    experiment_name: str | None = None
    tracking_uri: str | None = Field(
        None, description="Tracking store; a secret in it must be a ${ENV_VAR} reference."
    )
    steps: list[StepConfig] = Field(min_length=1)
    model: ModelSection
    promotion: PromotionConfig = Field(default_factory=PromotionConfig)
    schedule: str | None = Field("@daily", description="Cron or preset; null: manual only.")
    start_date: _dt.date = Field(
        _dt.date(2026, 1, 1), description="First schedule date (catchup is off)."
    )
    tags: list[str] = Field(default_factory=list, description="Extra Airflow DAG tags.")
    retries: int = Field(1, ge=0)
    retry_delay_s: int = Field(300, ge=0)
    sensor: SensorConfig | None = None
    serving: ServingConfig = Field(default_factory=ServingConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    slo: SLOConfig | None = Field(
        None, description="Objectives of /invocations: burn-rate alerts and error budgets."
    )

    def project_dir(self, config_file: Path) -> Path | None:
        """The local project directory (relative paths are relative to the config file)."""
        if self.project.path is None:
            return None
        return (config_file.parent / self.project.path).resolve()

    def model_step(self) -> StepConfig:
        """The step whose run's model is registered (``model.from_step``, else the last)."""
        wanted = self.model.from_step or self.steps[-1].name
        for step in self.steps:
            if step.name == wanted:
                return step
        return self.steps[-1]


def load(path: Path) -> PipelineConfig:
    """Read and validate a pipeline config; every problem at once, each with its key path.

    Only the schema is checked here; ``mlharness config check`` adds the checks that need
    the project (entry points, params), the step graph (cycles), crons and secrets.
    """
    import yaml

    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(where, [f"cannot read the file: {exc}"]) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(where, [f"not valid YAML: {str(exc).splitlines()[0]}"]) from exc
    if not isinstance(data, dict):
        raise ConfigError(where, ["expected a mapping of keys at the top level"])
    try:
        return validate(PipelineConfig, data, where)
    except ConfigError as exc:
        # pydantic prefixes the messages of our own validators with "Value error, ".
        problems = [p.replace(": Value error, ", ": ", 1) for p in exc.problems]
        raise ConfigError(where, problems) from exc
