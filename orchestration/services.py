"""The one service table of a pipeline's stack: what each service runs, with which
environment, how its health is checked, and what it waits for.

Two stacks are built from it: the compose file that ``mlharness airflow render`` writes
(services reach each other by name inside containers) and the processes ``mlharness up``
starts on this machine (127.0.0.1, a port each, state under a directory). Both read the
same :func:`services` for their topology, so a command, a variable, a health check or a
start condition changed here changes both, and they cannot drift apart. What only one
topology has (images, volumes and networks in compose; paths, ports and the ``postgres``
user here) stays in that topology's renderer or runner.

Health checks are kinds, not shell text: each topology turns a kind into what it can run
(compose: a ``healthcheck.test``; ``up``: an HTTP request, ``pg_isready``, a Redis PING, a
Celery control ping, the Airflow job table). A check's timing (interval, retries, start
period) is compose's healthcheck and also ``up``'s deadline for the service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from monitoring.stack.golden_update import BLACKBOX_ENV, STACK_ENV

__all__ = [
    "AIRFLOW_HOSTNAME_ENV",
    "COMPOSE_PORTS",
    "USUAL_PORTS",
    "CeleryPing",
    "CommandCheck",
    "Completed",
    "Health",
    "HttpCheck",
    "JobCheck",
    "PostgresReady",
    "RedisPing",
    "Service",
    "Timing",
    "Topology",
    "airflow_environment",
    "services",
]

Condition = Literal["healthy", "completed"]
# The variable our Airflow hostname callable reads: each Celery worker names itself, so a
# task instance's hostname says which worker ran it.
AIRFLOW_HOSTNAME_ENV = "MLHARNESS_AIRFLOW_HOSTNAME"
HOSTNAME_CALLABLE = "orchestration.local_stack.hostname.airflow_hostname"
FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
SIMPLE_AUTH_MANAGER = (
    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
)
CELERY_APP = "airflow.providers.celery.executors.celery_executor.app"
# Where each service listens inside its container (compose).
COMPOSE_PORTS: Mapping[str, int] = {
    "postgres": 5432,
    "mlflow-db": 5432,
    "mlflow": 5000,
    "redis": 6379,
    "airflow-apiserver": 8080,
    "airflow-scheduler": 8974,
}
# The port each service takes on this machine when it is free (``up``); else a free one.
USUAL_PORTS: Mapping[str, int] = {
    "postgres": 5432,
    "mlflow": 5000,
    "redis": 6379,
    "airflow-apiserver": 8080,
    "airflow-scheduler": 8974,
    "scoring": 5001,
    "prometheus": 9090,
    "alertmanager": 9093,
    "pushgateway": 9091,
    "blackbox": 9115,
}


@dataclass(frozen=True)
class HttpCheck:
    """Healthy when ``url`` answers 200 (``url`` as seen from where the check runs)."""

    url: str


@dataclass(frozen=True)
class CommandCheck:
    """Healthy when ``argv`` exits 0."""

    argv: tuple[str, ...]


@dataclass(frozen=True)
class PostgresReady:
    """Healthy when ``pg_isready`` accepts connections for ``user``."""

    user: str
    host: str = ""
    port: int = 0


@dataclass(frozen=True)
class RedisPing:
    """Healthy when Redis answers PING after AUTH with the stack's password."""


@dataclass(frozen=True)
class JobCheck:
    """Healthy when an Airflow job of ``job_type`` heartbeats (dag-processor, triggerer)."""

    job_type: str


@dataclass(frozen=True)
class CeleryPing:
    """Healthy when the Celery worker answers a control ping."""


@dataclass(frozen=True)
class Completed:
    """A one-shot job: healthy once it exited 0."""


Health = HttpCheck | CommandCheck | PostgresReady | RedisPing | JobCheck | CeleryPing | Completed


@dataclass(frozen=True)
class Timing:
    """Compose's healthcheck timing; ``up`` waits ``deadline_s`` for the service."""

    interval_s: int = 30
    timeout_s: int = 10
    retries: int = 5
    start_period_s: int = 30

    @property
    def deadline_s(self) -> int:
        return self.start_period_s + self.interval_s * self.retries


@dataclass(frozen=True)
class Service:
    """One service of the stack (``replicas`` copies of it for the Celery workers)."""

    name: str
    command: tuple[str, ...]
    environment: Mapping[str, str]
    health: Health
    depends_on: Mapping[str, Condition]
    timing: Timing = field(default_factory=Timing)
    port: int | None = None  # where it listens (local: on 127.0.0.1)
    replicas: int = 1
    stop_signal: Literal["SIGTERM", "SIGINT"] = "SIGTERM"
    user: str | None = None  # local: run as this user (PostgreSQL refuses root)
    group: Literal["pipeline", "monitoring"] = "pipeline"


@dataclass(frozen=True)
class Topology:
    """Where the services run: a compose network (``kind="compose"``) or this machine.

    For compose, hosts are service names, ports are the containers' and secrets are
    ``${KEY}`` references into ``.env``. On this machine, hosts are 127.0.0.1, ports are
    the ones ``up`` chose, secrets are their values and paths are under ``state_dir``.
    """

    kind: Literal["compose", "local"]
    executor: Literal["local", "celery"] = "local"
    workers: int = 2
    project_is_local: bool = True
    ports: Mapping[str, int] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    state_dir: Path = Path(".")
    bin_dir: Path = Path(".")  # the venv's bin (airflow, mlflow, mlharness)
    pg_bin_dir: Path = Path(".")  # PostgreSQL's server binaries (initdb, postgres)
    dags_dir: Path = Path(".")
    monitoring_dir: Path = Path(".")
    admin_user: str = "admin"
    serve_args: tuple[str, ...] = ()
    model_uri: str = ""

    @property
    def local(self) -> bool:
        return self.kind == "local"

    def port(self, service: str) -> int:
        return self.ports[service] if self.local else COMPOSE_PORTS[service]

    def host(self, service: str) -> str:
        """Where other services reach ``service`` (compose: its name; here: 127.0.0.1)."""
        return "127.0.0.1" if self.local else service

    def address(self, service: str) -> str:
        return f"{self.host(service)}:{self.port(service)}"

    def db_address(self, service: str) -> str:
        """A database's host as a URL names it (compose: the default port is implied)."""
        return self.address("postgres") if self.local else service

    def listen(self, service: str) -> str:
        """The address a server binds: loopback here, every interface in a container."""
        return "127.0.0.1" if self.local else "0.0.0.0"

    def secret(self, key: str) -> str:
        return self.secrets[key] if self.local else f"${{{key}:?set in .env}}"

    def program(self, name: str) -> str:
        return str(self.bin_dir / name) if self.local else name

    def path(self, relative: str) -> str:
        return str(self.state_dir / relative)


def _database_service(t: Topology, database: str) -> str:
    """The service holding ``database``: one PostgreSQL here, one container each in compose."""
    if t.local:
        return "postgres"
    return "postgres" if database == "airflow" else "mlflow-db"


def _databases(t: Topology) -> list[Service]:
    if t.local:
        port = t.port("postgres")
        command = (
            str(t.pg_bin_dir / "postgres"),
            "-D",
            t.path("postgres/data"),
            "-c",
            "listen_addresses=127.0.0.1",
            "-p",
            str(port),
            "-c",
            "unix_socket_directories=",
            "-c",
            "synchronous_commit=off",
        )
        return [
            Service(
                "postgres",
                command,
                {},
                PostgresReady("postgres", "127.0.0.1", port),
                {},
                Timing(10, 5, 5, 5),
                port=port,
                stop_signal="SIGINT",
                user="postgres",
            )
        ]
    return [
        Service(
            name,
            ("postgres",),
            {
                "POSTGRES_USER": user,
                "POSTGRES_PASSWORD": t.secret(secret),
                "POSTGRES_DB": user,
            },
            PostgresReady(user),
            {},
            Timing(10, 5, 5, 5),
            stop_signal="SIGINT",
        )
        for name, user, secret in (
            ("postgres", "airflow", "POSTGRES_PASSWORD"),
            ("mlflow-db", "mlflow", "MLFLOW_DB_PASSWORD"),
        )
    ]


def _mlflow(t: Topology) -> Service:
    artifacts = t.path("mlflow/artifacts") if t.local else "/mlartifacts"
    metrics = t.path("mlflow/metrics") if t.local else "/tmp/mlflow-metrics"
    db = _database_service(t, "mlflow")
    command = (
        t.program("mlflow"),
        "server",
        "--artifacts-destination",
        artifacts,
        "--serve-artifacts",
        "--host",
        t.listen("mlflow"),
        "--port",
        str(t.port("mlflow")),
        "--workers",
        "1",
        # /metrics for Prometheus (needs prometheus-flask-exporter, or the workers crash-loop)
        "--expose-prometheus",
        metrics,
    )
    environment = {
        # The backend URI holds a password: from the environment, not the process list.
        "MLFLOW_BACKEND_STORE_URI": (
            f"postgresql://mlflow:{t.secret('MLFLOW_DB_PASSWORD')}@{t.db_address(db)}/mlflow"
        ),
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    check_host = "127.0.0.1" if t.local else "localhost"
    return Service(
        "mlflow",
        command,
        environment,
        HttpCheck(f"http://{check_host}:{t.port('mlflow')}/health"),
        {db: "healthy"},
        Timing(15, 10, 10, 60),
        port=t.port("mlflow") if t.local else None,
    )


def _redis(t: Topology) -> Service:
    if t.local:  # the password is in a 0600 config file, not on the command line
        command: tuple[str, ...] = ("redis-server", t.path("redis/redis.conf"))
        environment: dict[str, str] = {}
    else:
        command = ("redis-server", "--requirepass", t.secret("REDIS_PASSWORD"))
        environment = {"REDIS_PASSWORD": t.secret("REDIS_PASSWORD")}
    return Service(
        "redis",
        command,
        environment,
        RedisPing(),
        {},
        Timing(10, 5, 5, 5),
        port=t.port("redis") if t.local else None,
    )


def airflow_environment(t: Topology) -> dict[str, str]:
    """The environment every Airflow process shares (compose: the ``x-airflow-common``
    anchor)."""
    db = t.db_address(_database_service(t, "airflow"))
    password = t.secret("POSTGRES_PASSWORD")
    driver = "psycopg" if t.local else "psycopg2"  # the official image ships psycopg2
    env: dict[str, str] = {}
    if t.executor == "celery":
        env["AIRFLOW__CORE__EXECUTOR"] = "CeleryExecutor"
        redis = t.address("redis") if t.local else "redis:6379"
        env["AIRFLOW__CELERY__BROKER_URL"] = f"redis://:{t.secret('REDIS_PASSWORD')}@{redis}/0"
        backend = "postgresql+psycopg" if t.local else "postgresql"
        env["AIRFLOW__CELERY__RESULT_BACKEND"] = f"db+{backend}://airflow:{password}@{db}/airflow"
    else:
        env["AIRFLOW__CORE__EXECUTOR"] = "LocalExecutor"
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = (
        f"postgresql+{driver}://airflow:{password}@{db}/airflow"
    )
    if t.local:  # no asyncpg here: psycopg 3 serves the async engine too
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = (
            f"postgresql+psycopg://airflow:{password}@{db}/airflow"
        )
    env["AIRFLOW__CORE__FERNET_KEY"] = t.secret("AIRFLOW_FERNET_KEY")
    env["AIRFLOW__API__SECRET_KEY"] = t.secret("AIRFLOW_API_SECRET_KEY")
    env["AIRFLOW__API_AUTH__JWT_SECRET"] = t.secret("AIRFLOW_JWT_SECRET")
    # The official image bundles FAB; a venv with apache-airflow alone has SimpleAuthManager.
    env["AIRFLOW__CORE__AUTH_MANAGER"] = SIMPLE_AUTH_MANAGER if t.local else FAB_AUTH_MANAGER
    api = f"http://{t.address('airflow-apiserver') if t.local else 'airflow-apiserver:8080'}"
    env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"{api}/execution/"
    env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "false"
    # up unpauses the pipeline's DAGs; a compose stack leaves that to its user.
    env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "false" if t.local else "true"
    env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] = "true"
    env["MLFLOW_TRACKING_URI"] = f"http://{t.address('mlflow')}"
    if t.local:
        env["AIRFLOW_HOME"] = t.path("airflow-home")
        env["AIRFLOW__CORE__DAGS_FOLDER"] = str(t.dags_dir)
        env["AIRFLOW__API__HOST"] = "127.0.0.1"
        env["AIRFLOW__API__PORT"] = str(t.port("airflow-apiserver"))
        env["AIRFLOW__API__BASE_URL"] = api
        env["AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST"] = "127.0.0.1"
        env["AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT"] = str(
            t.port("airflow-scheduler")
        )
        env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = f"{t.admin_user}:admin"
        env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] = t.path(
            "airflow-home/passwords.json"
        )
        env["AIRFLOW__CORE__HOSTNAME_CALLABLE"] = HOSTNAME_CALLABLE
        # The promote task rewrites this stack's golden probes and reloads its exporter.
        env[STACK_ENV] = str(t.monitoring_dir)
        env[BLACKBOX_ENV] = f"http://{t.address('blackbox')}"
        # Every service shares two cores here: the api-server can take longer than the
        # default 5 s to answer a task's first call (the task then fails before it ran).
        env["AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT"] = "30"
        env["MLHARNESS_PUSHGATEWAY"] = f"http://{t.address('pushgateway')}"
    else:
        env["MLHARNESS_PIPELINE_DIR"] = "/opt/mlharness/pipeline"
        if t.project_is_local:
            env["MLHARNESS_PROJECT"] = "/opt/mlharness/project"
    return env


def _airflow(t: Topology) -> list[Service]:
    airflow = t.program("airflow")
    base: dict[str, Condition] = {}
    if t.executor == "celery":
        base["redis"] = "healthy"
    base["postgres"] = "healthy"
    base["mlflow"] = "healthy"
    after_init: dict[str, Condition] = {**base, "airflow-init": "completed"}
    # Log servers bind every interface; here every process reads the same log folder.
    skip_logs = ("--skip-serve-logs",) if t.local else ()
    if t.local:
        init: tuple[str, ...] = (airflow, "db", "migrate")
        init_env: dict[str, str] = {}
    else:
        init = (
            "/bin/bash",
            "-c",
            "set -e\n"
            "airflow db migrate\n"
            'airflow users create --role Admin --username "$${AIRFLOW_ADMIN_USER}" \\\n'
            '  --password "$${AIRFLOW_ADMIN_PASSWORD}" --firstname Airflow --lastname Admin \\\n'
            '  --email admin@example.invalid || echo "admin user exists"\n',
        )
        init_env = {
            "AIRFLOW_ADMIN_USER": "${AIRFLOW_ADMIN_USER:-admin}",
            "AIRFLOW_ADMIN_PASSWORD": t.secret("AIRFLOW_ADMIN_PASSWORD"),
        }
    api_host = "127.0.0.1" if t.local else "localhost"
    common = airflow_environment(t)
    found = [
        Service(
            "airflow-init",
            init,
            {**common, **init_env},
            Completed(),
            # Migrating needs only its database: it runs while MLflow starts.
            {"postgres": "healthy"},
            Timing(30, 10, 5, 60),
        ),
        Service(
            "airflow-apiserver",
            (airflow, "api-server"),
            common,
            HttpCheck(f"http://{api_host}:{t.port('airflow-apiserver')}/api/v2/version"),
            after_init,
            port=t.port("airflow-apiserver") if t.local else None,
        ),
        Service(
            "airflow-scheduler",
            (airflow, "scheduler", *skip_logs),
            common,
            HttpCheck(f"http://{api_host}:{t.port('airflow-scheduler')}/health"),
            after_init,
            port=t.port("airflow-scheduler") if t.local else None,
        ),
        Service(
            "airflow-dag-processor",
            (airflow, "dag-processor"),
            common,
            JobCheck("DagProcessorJob"),
            after_init,
        ),
        Service(
            "airflow-triggerer",
            (airflow, "triggerer", *skip_logs),
            common,
            JobCheck("TriggererJob"),
            after_init,
        ),
    ]
    if t.executor == "celery":
        worker: tuple[str, ...] = (airflow, "celery", "worker")
        if t.local:  # one task slot per worker; the count is --celery-workers
            worker += ("--concurrency", "1", *skip_logs)
        found.append(
            Service(
                "airflow-worker",
                worker,
                common if t.local else {**common, "DUMB_INIT_SETSID": "0"},
                CeleryPing(),
                {**base, "airflow-apiserver": "healthy", "airflow-init": "completed"},
                replicas=t.workers,
            )
        )
    return found


def _monitoring(t: Topology) -> list[Service]:
    """The scoring server and the monitoring services (this machine only: the compose
    monitoring stack is ``mlharness monitor render``'s)."""
    d = t.monitoring_dir

    def ready(name: str) -> HttpCheck:
        return HttpCheck(f"http://127.0.0.1:{t.port(name)}/-/ready")

    quick = Timing(2, 5, 30, 0)
    scoring = (
        t.program("mlharness"),
        "serve",
        t.model_uri,
        "--host",
        "127.0.0.1",
        "--port",
        str(t.port("scoring")),
        *t.serve_args,
    )
    return [
        Service(
            "pushgateway",
            ("prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{t.port('pushgateway')}"),
            {},
            ready("pushgateway"),
            {},
            quick,
            port=t.port("pushgateway"),
            group="monitoring",
        ),
        Service(
            "blackbox",
            (
                "prometheus-blackbox-exporter",
                f"--config.file={d / 'blackbox.yml'}",
                f"--web.listen-address=127.0.0.1:{t.port('blackbox')}",
            ),
            {},
            ready("blackbox"),
            {},
            quick,
            port=t.port("blackbox"),
            group="monitoring",
        ),
        Service(
            "alertmanager",
            (
                "prometheus-alertmanager",
                f"--config.file={d / 'alertmanager.yml'}",
                f"--web.listen-address=127.0.0.1:{t.port('alertmanager')}",
                "--cluster.listen-address=",  # no gossip (it binds 0.0.0.0:9094)
                f"--storage.path={t.path('alertmanager')}",
            ),
            {},
            ready("alertmanager"),
            {},
            quick,
            port=t.port("alertmanager"),
            group="monitoring",
        ),
        Service(
            "prometheus",
            (
                "prometheus",
                f"--config.file={d / 'prometheus.yml'}",
                f"--web.listen-address=127.0.0.1:{t.port('prometheus')}",
                f"--storage.tsdb.path={t.path('prometheus')}",
            ),
            {},
            ready("prometheus"),
            {"alertmanager": "healthy"},
            quick,
            port=t.port("prometheus"),
            group="monitoring",
        ),
        # Started by up once a version holds the alias (it follows the alias from then on).
        Service(
            "scoring",
            scoring,
            {"MLFLOW_TRACKING_URI": f"http://{t.address('mlflow')}"},
            HttpCheck(f"http://127.0.0.1:{t.port('scoring')}/ping"),
            {"mlflow": "healthy"},
            Timing(2, 5, 90, 0),
            port=t.port("scoring"),
            group="monitoring",
        ),
    ]


def services(t: Topology) -> list[Service]:
    """Every service of the stack in dependency order (a service after what it needs)."""
    found = [*_databases(t), _mlflow(t)]
    if t.executor == "celery":
        found.append(_redis(t))
    found += _airflow(t)
    if t.local:
        found += _monitoring(t)
    return found
