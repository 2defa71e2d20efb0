"""The one service table: the compose file and ``mlharness up`` read the same services, so a
command, a start condition or an Airflow variable cannot differ between them except where the
topology itself differs (paths, ports, hosts, the auth manager the official image bundles)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from orchestration.pipelines.compose import compose_services, healthcheck_test
from orchestration.services import Topology, airflow_environment, services

SECRETS = {
    key: f"secret-{key.lower()}"
    for key in (
        "POSTGRES_PASSWORD",
        "MLFLOW_DB_PASSWORD",
        "AIRFLOW_ADMIN_PASSWORD",
        "AIRFLOW_FERNET_KEY",
        "AIRFLOW_API_SECRET_KEY",
        "AIRFLOW_JWT_SECRET",
        "REDIS_PASSWORD",
    )
}
PORTS = {
    "postgres": 15432,
    "mlflow": 15000,
    "redis": 16379,
    "airflow-apiserver": 18080,
    "airflow-scheduler": 18974,
    "scoring": 15001,
    "prometheus": 19090,
    "alertmanager": 19093,
    "pushgateway": 19091,
    "blackbox": 19115,
}
# Variables only the machine's topology has (paths, ports, the hostname callable...).
LOCAL_ONLY = {
    "AIRFLOW_HOME",
    "AIRFLOW__CORE__DAGS_FOLDER",
    "AIRFLOW__API__HOST",
    "AIRFLOW__API__PORT",
    "AIRFLOW__API__BASE_URL",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
    "AIRFLOW__CORE__HOSTNAME_CALLABLE",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC",
    "MLHARNESS_PUSHGATEWAY",
    "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT",
    # up's golden probes: the promote task rewrites this stack's and reloads its exporter
    # (a compose stack names its own with monitoring.golden.stack_dir / blackbox_url)
    "MLHARNESS_MONITORING_STACK",
    "MLHARNESS_BLACKBOX_URL",
}
COMPOSE_ONLY = {"MLHARNESS_PIPELINE_DIR", "MLHARNESS_PROJECT"}


def _local(executor: str) -> Topology:
    return Topology(
        kind="local",
        executor=executor,  # type: ignore[arg-type]
        workers=3,
        ports=PORTS,
        secrets=SECRETS,
        state_dir=Path("/state"),
        bin_dir=Path("/venv/bin"),
        pg_bin_dir=Path("/pg/bin"),
        dags_dir=Path("/state/airflow/dags"),
        monitoring_dir=Path("/state/monitoring"),
        model_uri="models:/rf@champion",
    )


def _words(command: tuple[str, ...]) -> list[str]:
    """The program and its subcommand, up to the first option (local-only flags differ)."""
    words = [Path(command[0]).name]
    for word in command[1:]:
        if word.startswith("--"):
            break
        words.append(word)
    return words


@pytest.mark.parametrize("executor", ["local", "celery"])
def test_both_topologies_run_the_same_airflow_services(executor: str) -> None:
    compose = {s.name: s for s in services(Topology(kind="compose", executor=executor))}
    local = {s.name: s for s in services(_local(executor))}
    airflow = sorted(n for n in compose if n.startswith("airflow-") and n != "airflow-init")
    assert airflow == sorted(n for n in local if n.startswith("airflow-") and n != "airflow-init")
    for name in airflow:
        assert _words(compose[name].command) == _words(local[name].command), name
        assert dict(compose[name].depends_on) == dict(local[name].depends_on), name
        assert type(compose[name].health) is type(local[name].health), name
    assert dict(local["airflow-init"].depends_on) == {"postgres": "healthy"}
    assert dict(compose["airflow-init"].depends_on) == {"postgres": "healthy"}
    if executor == "celery":
        assert local["airflow-worker"].replicas == 3


@pytest.mark.parametrize("executor", ["local", "celery"])
def test_airflow_variables_differ_only_where_the_topology_does(executor: str) -> None:
    compose = airflow_environment(Topology(kind="compose", executor=executor))
    local = airflow_environment(_local(executor))
    assert set(local) - set(compose) == LOCAL_ONLY
    assert set(compose) - set(local) <= COMPOSE_ONLY
    assert local["AIRFLOW__CORE__EXECUTOR"] == compose["AIRFLOW__CORE__EXECUTOR"]
    # Every server listens on loopback here; secrets are references in compose only.
    assert local["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert all("${" not in v for v in local.values())
    assert compose["AIRFLOW__CORE__FERNET_KEY"].startswith("${AIRFLOW_FERNET_KEY")


def test_local_servers_bind_loopback_only() -> None:
    for service in services(_local("celery")):
        joined = " ".join(service.command)
        assert "0.0.0.0" not in joined, service.name
        if service.port:
            assert "127.0.0.1" in joined or service.name in {
                "postgres",
                "redis",
                "airflow-apiserver",
                "airflow-scheduler",
            }, service.name


def test_the_rendered_compose_file_is_the_table(tmp_path: Path) -> None:
    from tests.support.airflow import EXAMPLE, render_to

    render_to(EXAMPLE, tmp_path, "celery")
    rendered = yaml.safe_load((tmp_path / "docker-compose.yaml").read_text())["services"]
    table = {s.name: s for s in services(Topology(kind="compose", executor="celery"))}
    assert set(rendered) == set(table)
    for name, service in table.items():
        test = healthcheck_test(service.health)
        if test is None:
            assert "healthcheck" not in rendered[name]
        else:
            assert rendered[name]["healthcheck"]["test"] == yaml.safe_load(test), name
    context = compose_services("celery", True)
    assert rendered["airflow-apiserver"]["environment"] == dict(
        (k, yaml.safe_load(v) if v.startswith('"') else v)
        for k, v in context["airflow_environment"]  # type: ignore[attr-defined]
    )
