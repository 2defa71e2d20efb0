"""The compose file's services, from the service table (:mod:`orchestration.services`).

``mlharness up`` runs the same table on this machine; here each service becomes what the
``docker-compose.yaml`` template writes: its command, environment, healthcheck and
``depends_on``, as YAML-ready text. The template keeps only what compose alone has (images,
volumes, networks, ports, restart policies).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Literal

import yaml

from orchestration.services import (
    CeleryPing,
    CommandCheck,
    Completed,
    Health,
    HttpCheck,
    JobCheck,
    PostgresReady,
    RedisPing,
    Service,
    Topology,
    airflow_environment,
    services,
)

__all__ = ["compose_services", "healthcheck_test", "yaml_scalar"]

_CONDITIONS = {"healthy": "service_healthy", "completed": "service_completed_successfully"}
_CELERY_APP = "airflow.providers.celery.executors.celery_executor.app"


def yaml_scalar(value: str) -> str:
    """``value`` as a YAML scalar: plain when YAML reads it back as the same string."""
    plain_ok = (
        value != ""
        and not value.startswith(("*", "&", "!", "{", "[", "'", '"', "%", "@", "`", "|", ">", "- "))
        and ": " not in value
        and " #" not in value
        and "\n" not in value
    )
    if plain_ok:
        try:
            plain_ok = yaml.safe_load(value) == value
        except yaml.YAMLError:
            plain_ok = False
    return value if plain_ok else json.dumps(value)


def healthcheck_test(health: Health) -> str | None:
    """The ``healthcheck.test`` of a check, as a JSON flow list (None: no healthcheck)."""
    test: list[str]
    if isinstance(health, HttpCheck):
        test = ["CMD", "curl", "--fail", health.url]
    elif isinstance(health, PostgresReady):
        test = ["CMD", "pg_isready", "-U", health.user]
    elif isinstance(health, RedisPing):
        test = [
            "CMD-SHELL",
            'redis-cli -a "$${REDIS_PASSWORD}" --no-auth-warning ping | grep -q PONG',
        ]
    elif isinstance(health, JobCheck):
        test = [
            "CMD-SHELL",
            f'airflow jobs check --job-type {health.job_type} --hostname "$${{HOSTNAME}}"',
        ]
    elif isinstance(health, CeleryPing):
        test = ["CMD-SHELL", f'celery --app {_CELERY_APP} inspect ping -d "celery@$${{HOSTNAME}}"']
    elif isinstance(health, CommandCheck):
        test = ["CMD", *health.argv]
    else:
        assert isinstance(health, Completed)
        return None
    return json.dumps(test)


def _service(
    s: Service, common: Mapping[str, str], base_depends: Mapping[str, str]
) -> dict[str, object]:
    extra_env = {k: v for k, v in s.environment.items() if common.get(k) != v}
    depends = {k: v for k, v in s.depends_on.items() if base_depends.get(k) != v}
    return {
        "name": s.name,
        "program": s.command[0],
        "args": [yaml_scalar(a) for a in s.command[1:]],
        "words": " ".join(s.command[1:]),
        "command_json": json.dumps(list(s.command)),
        "environment": [(k, yaml_scalar(v)) for k, v in s.environment.items()],
        "extra_environment": [(k, yaml_scalar(v)) for k, v in extra_env.items()],
        "depends_on": [(k, _CONDITIONS[v]) for k, v in s.depends_on.items()],
        "extra_depends_on": [(k, _CONDITIONS[v]) for k, v in depends.items()],
        "test": healthcheck_test(s.health),
        "interval": f"{s.timing.interval_s}s",
        "timeout": f"{s.timing.timeout_s}s",
        "retries": s.timing.retries,
        "start_period": f"{s.timing.start_period_s}s",
        "script": (
            s.command[2].rstrip("\n").splitlines() if s.command[:2] == ("/bin/bash", "-c") else []
        ),
    }


def compose_services(
    executor: Literal["local", "celery"], project_is_local: bool
) -> dict[str, object]:
    """The template's view of the table for compose: every service by name, plus the
    environment and start conditions all Airflow services share (the YAML anchors)."""
    t = Topology(kind="compose", executor=executor, project_is_local=project_is_local)
    table = services(t)
    common = airflow_environment(t)
    api = next(s for s in table if s.name == "airflow-apiserver")
    base_depends = {k: v for k, v in api.depends_on.items() if k != "airflow-init"}
    return {
        "by_name": {s.name: _service(s, common, base_depends) for s in table},
        "airflow_environment": [(k, yaml_scalar(v)) for k, v in common.items()],
        "airflow_depends_on": [(k, _CONDITIONS[v]) for k, v in base_depends.items()],
    }
