"""The render operation: a checked pipeline config -> Airflow DAGs and the stack that runs them.

Cookiecutter renders ``templates/airflow-pipeline`` with no input: the validated config and
everything derived from it (DAG ids, the Python literals the DAG files embed, the schedules)
are its context. Output is staged beside the output directory and then moved in file by file
with an atomic rename, only where the bytes differ (``harness.templating.render_tree``,
placement ``update``), so re-rendering an unchanged config changes nothing and a failed
render leaves the output directory as it was. Every check runs first: a config with any
problem renders nothing (exit 2).

The ``.env`` file holds every secret of the stack. They are generated on the first render and
kept on every later one (read back from the existing ``.env``), so a re-render stays
byte-identical and never rotates a running stack's passwords.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from harness.config.operations import check_file, upstream_of
from harness.kernel.errors import ConfigError
from harness.schemas.pipeline_config import PipelineConfig
from harness.templating import TEMPLATES_DIR, TemplateError, render_tree

__all__ = [
    "AIRFLOW_VERSION",
    "NETWORK",
    "RESERVED_TASK_IDS",
    "SECRET_KEYS",
    "TEMPLATE_DIR",
    "PipelineFiles",
    "PipelineRequest",
    "TemplateError",
    "build_context",
    "write_pipeline",
]

TEMPLATE_DIR = TEMPLATES_DIR / "airflow-pipeline"
AIRFLOW_VERSION = "3.3.2"
# The compose network other stacks (``mlharness monitor render``) join: stable, documented.
NETWORK = "mlharness"
# Task ids the train DAG uses itself; a step may not take one.
RESERVED_TASK_IDS = frozenset({"wait_for_data", "register", "gate", "promote"} | {"gate_failed"})
RESERVED_TASK_IDS |= {"notify"}
SECRET_KEYS = (
    "POSTGRES_PASSWORD",
    "MLFLOW_DB_PASSWORD",
    "AIRFLOW_ADMIN_PASSWORD",
    "AIRFLOW_FERNET_KEY",
    "AIRFLOW_API_SECRET_KEY",
    "AIRFLOW_JWT_SECRET",
    "REDIS_PASSWORD",
)
_PRESET_CRONS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_ENV_LINE = re.compile(r"^([A-Z_][A-Z0-9_]*)=(.*)$")


@dataclass(frozen=True)
class PipelineRequest:
    """Render ``config`` into ``output``; ``dry_run`` lists what would change."""

    config: Path
    output: Path
    executor: Literal["local", "celery"] = "local"
    dry_run: bool = False


@dataclass(frozen=True)
class PipelineFiles:
    """What was (or, for a dry run, would be) written, file by file."""

    pipeline: str
    output: str
    executor: str
    dry_run: bool
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    dags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _literal(value: object, indent: int = 0) -> str:
    """A JSON-shaped value as Python source in ``ruff format`` style (double quotes, one
    item per line, trailing commas), so the DAG file reads like hand-written code."""
    pad, inner = " " * indent, " " * (indent + 4)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [
            f"{inner}{json.dumps(str(k))}: {_literal(v, indent + 4)},\n" for k, v in value.items()
        ]
        return "{\n" + "".join(items) + pad + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        flat = "[" + ", ".join(_literal(v, indent + 4) for v in value) + "]"
        if all(not isinstance(v, dict | list) for v in value) and len(flat) + indent < 72:
            return flat
        return "[\n" + "".join(f"{inner}{_literal(v, indent + 4)},\n" for v in value) + pad + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def _cron(expression: str) -> str:
    return _PRESET_CRONS.get(expression, expression)


def _train_schedule(config: PipelineConfig) -> str:
    """The train DAG's ``schedule=`` as Python source."""
    sensor = config.sensor
    if sensor is not None and sensor.asset is not None:
        asset = f"Asset({json.dumps(sensor.asset)})"
        if config.schedule is None:
            return f"[{asset}]"
        if config.schedule not in _PRESET_CRONS and config.schedule.startswith("@"):
            return f"[{asset}]"  # @once/@continuous cannot be combined with an asset
        return (
            "AssetOrTimeSchedule(\n"
            f"        timetable=CronTriggerTimetable({json.dumps(_cron(config.schedule))}, "
            'timezone="UTC"),\n'
            f"        assets=[{asset}],\n"
            "    )"
        )
    return json.dumps(config.schedule) if config.schedule is not None else "None"


def _drift_schedule(config: PipelineConfig) -> str:
    """The drift DAG's ``schedule=``: the promotion asset, or it and a cron (either fires)."""
    schedule = config.monitoring.drift.schedule
    if schedule is None:
        return "[PROMOTED]"
    return (
        "AssetOrTimeSchedule(\n"
        f"        timetable=CronTriggerTimetable({json.dumps(_cron(schedule))}, "
        'timezone="UTC"),\n'
        "        assets=[PROMOTED],\n"
        "    )"
    )


def _render_problems(config: PipelineConfig) -> list[str]:
    """What only the renderer needs: free task ids, parseable gates, combinable schedules."""
    from registry_tools.errors import RegistryError
    from registry_tools.gates import parse_gate

    problems = []
    for index, step in enumerate(config.steps):
        if step.name in RESERVED_TASK_IDS:
            problems.append(
                f"steps[{index}].name: {step.name!r} is a task of the train DAG itself "
                f"(reserved: {', '.join(sorted(RESERVED_TASK_IDS))})"
            )
    for index, text in enumerate(config.promotion.gates):
        try:
            parse_gate(text)
        except RegistryError as exc:
            problems.append(f"promotion.gates[{index}]: {exc.message}")
    drift = config.monitoring.drift.schedule
    if drift is not None and drift.startswith("@") and drift not in _PRESET_CRONS:
        problems.append(
            f"monitoring.drift.schedule: {drift!r} cannot be combined with the promotion asset "
            "(use a cron, a preset such as @daily, or null)"
        )
    return problems


def _existing_env(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            match = _ENV_LINE.match(line.strip())
            if match:
                values[match.group(1)] = match.group(2)
    return values


def _secrets(existing: Mapping[str, str]) -> dict[str, str]:
    """Every secret of the stack: kept from the existing ``.env``, else generated."""
    values = {}
    for key in SECRET_KEYS:
        if existing.get(key):
            values[key] = existing[key]
        elif key == "AIRFLOW_FERNET_KEY":
            values[key] = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        else:
            values[key] = secrets.token_urlsafe(24)
    return values


def build_context(
    config: PipelineConfig,
    config_file: Path,
    output: Path,
    executor: str,
    existing_env: Mapping[str, str],
) -> dict[str, object]:
    """The cookiecutter context: the config plus everything the templates derive from it."""
    from harness import __version__
    from orchestration.pipelines.compose import compose_services
    from orchestration.pipelines.tasks import asset_uri

    base_dir = config_file.resolve().parent
    project_dir = config.project_dir(config_file)
    steps = []
    for step in config.steps:
        upstream = upstream_of(config, step)
        steps.append(
            {
                "name": step.name,
                "name_literal": json.dumps(step.name),
                "func": f"step_{step.name}",
                "var": f"{step.name}_run",
                "entry_point": step.entry_point,
                "upstream": [f"{u}_run" for u in upstream],
                "upstream_names": [json.dumps(u) for u in upstream],
                "timeout_s": step.timeout_s or 0,
            }
        )
    roots = [s["var"] for s in steps if not s["upstream"]]
    model_step = config.model_step()
    repo = TEMPLATES_DIR.parent  # the checkout: the Dockerfile's build context
    return {
        "name": config.name,
        "model": config.model.name,
        "alias": config.promotion.alias,
        "on_fail": config.promotion.on_fail,
        "on_drift": config.monitoring.drift.on_drift,
        "gates": ", ".join(config.promotion.gates) or "none",
        "config_name": config_file.name,
        "train_dag_id": f"{config.name}_train",
        "drift_dag_id": f"{config.name}_drift",
        "train_dag_id_literal": json.dumps(f"{config.name}_train"),
        "drift_dag_id_literal": json.dumps(f"{config.name}_drift"),
        "asset_literal": json.dumps(asset_uri(config)),
        "asset_uri": asset_uri(config),
        "pipeline_literal": _literal(config.model_dump(mode="json")),
        "base_dir_literal": json.dumps(str(base_dir)),
        "train_schedule": _train_schedule(config),
        "drift_schedule": _drift_schedule(config),
        "drift_uses_time": config.monitoring.drift.schedule is not None,
        "train_uses_asset_schedule": "AssetOrTimeSchedule" in _train_schedule(config),
        "sensor_file": bool(config.sensor and config.sensor.file),
        "poke_interval_s": config.sensor.poke_interval_s if config.sensor else 60,
        "sensor_timeout_s": config.sensor.timeout_s if config.sensor else 3600,
        "start_date": [config.start_date.year, config.start_date.month, config.start_date.day],
        "retries": config.retries,
        "retry_delay_s": config.retry_delay_s,
        "tags_literal": json.dumps(["mlharness", config.name, *config.tags]),
        "steps": steps,
        "roots": roots,
        "model_step_var": f"{model_step.name}_run",
        "other_step_vars": [s["var"] for s in steps if s["name"] != model_step.name],
        "step_names_literal": json.dumps([s.name for s in config.steps]),
        "executor": executor,
        "network": NETWORK,
        "airflow_version": AIRFLOW_VERSION,
        "mlharness_version": __version__,
        "env": {
            "AIRFLOW_UID": existing_env.get("AIRFLOW_UID") or "50000",
            "AIRFLOW_IMAGE_NAME": existing_env.get("AIRFLOW_IMAGE_NAME")
            or f"apache/airflow:{AIRFLOW_VERSION}-python3.11",
            "AIRFLOW_ADMIN_USER": existing_env.get("AIRFLOW_ADMIN_USER") or "admin",
            "MLHARNESS_SOURCE_DIR": str(repo),
            "MLHARNESS_PIPELINE_STACK_DIR": str(output.resolve()),
            "MLHARNESS_PIPELINE_HOST_DIR": str(base_dir),
            "MLHARNESS_PROJECT_HOST_DIR": str(project_dir) if project_dir else str(base_dir),
            **_secrets(existing_env),
        },
        "secret_keys": list(SECRET_KEYS),
        "project_is_local": project_dir is not None,
        # The compose services from the one service table that mlharness up also runs.
        "services": compose_services(executor, project_dir is not None),  # type: ignore[arg-type]
    }


def write_pipeline(request: PipelineRequest) -> PipelineFiles:
    """Check the config (every problem at once), render, write only what differs."""
    report = check_file(request.config)
    problems = list(report.problems)
    if report.config is not None:
        problems += _render_problems(report.config)
    if problems or report.config is None:
        raise ConfigError(str(request.config), problems)
    config = report.config
    if request.output.exists() and not request.output.is_dir():
        raise ConfigError(str(request.output), ["the output exists and is not a directory"])
    context = build_context(
        config,
        request.config,
        request.output,
        request.executor,
        _existing_env(request.output / ".env"),
    )
    tree = render_tree(
        TEMPLATE_DIR,
        {"_ctx": context},
        request.output.resolve().parent,
        name=request.output.resolve().name,
        placement="update",  # file by file: a running stack keeps its bind mounts
        dry_run=request.dry_run,
        modes={".env": 0o600},
    )
    return PipelineFiles(
        config.name,
        str(request.output),
        request.executor,
        request.dry_run,
        created=tree.created,
        changed=tree.changed,
        unchanged=tree.unchanged,
        dags=[r for r in tree.files if r.startswith("dags/")],
    )
