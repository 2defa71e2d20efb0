"""Start the service table on this machine in dependency order, each gated on its health
check, then watch it: the scoring server starts once a version holds the alias.

A service starts as soon as every service it depends on is healthy (or, for a one-shot
job, has completed), so independent services start side by side. A service that exits
before it is healthy, or is not healthy by its deadline, fails the whole ``up`` with one
line naming it and its log file; the caller then stops everything already started.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.kernel.errors import ExternalServiceError
from orchestration.local_stack.clients import AirflowApi, alias_version
from orchestration.local_stack.health import ProbeContext, probe
from orchestration.local_stack.layout import StackPaths, write_secret
from orchestration.local_stack.postgres import ensure_databases, prepare_cluster
from orchestration.processes import Started, Supervisor, wait_until
from orchestration.services import AIRFLOW_HOSTNAME_ENV, Completed, Service, Topology

__all__ = ["DEFERRED", "Instance", "Runner", "RunnerSettings"]

# Started later than the rest: once a version holds the alias.
DEFERRED = "scoring"
_PROBE_EVERY_S = 1.0
_DAGS_DEADLINE_S = 240.0


@dataclass
class Instance:
    """One process of a service (a Celery worker service has one per replica)."""

    service: Service
    name: str
    node: str = ""  # a worker's Celery node name
    started: Started | None = None
    state: str = "pending"  # pending, starting, healthy, completed, waiting, exited, failed
    started_at: float = 0.0
    healthy_s: float | None = None
    returncode: int | None = None
    next_probe: float = 0.0

    @property
    def pid(self) -> int | None:
        return self.started.process.pid if self.started else None

    @property
    def log_file(self) -> Path | None:
        return self.started.log_file if self.started else None


@dataclass(frozen=True)
class RunnerSettings:
    """What the runner needs besides the table."""

    paths: StackPaths
    topology: Topology
    secrets: dict[str, str]
    model: str
    alias: str
    dag_ids: tuple[str, ...]
    redis_conf: str = ""
    passwords: str = ""
    admin_user: str = "admin"


@dataclass
class Runner:
    """Runs the table under ``supervisor``; ``record`` is told of every change (state.json)."""

    settings: RunnerSettings
    table: list[Service]
    supervisor: Supervisor
    record: Callable[[Runner], None]
    say: Callable[[str], None] = field(default=lambda _line: None)
    instances: list[Instance] = field(default_factory=list)
    began: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        host = socket.gethostname()
        for service in self.table:
            if service.replicas == 1:
                self.instances.append(Instance(service, service.name))
                continue
            for index in range(1, service.replicas + 1):
                name = f"{service.name}-{index}"
                self.instances.append(Instance(service, name, node=f"{name}@{host}"))
        t = self.settings.topology
        self.context = ProbeContext(
            pg_bin_dir=t.pg_bin_dir,
            redis_address=t.address("redis") if "redis" in t.ports else "",
            redis_password=self.settings.secrets.get("REDIS_PASSWORD", ""),
            airflow_db=(
                f"postgresql://airflow:{self.settings.secrets['POSTGRES_PASSWORD']}"
                f"@{t.address('postgres')}/airflow"
            ),
            broker_url=(
                f"redis://:{self.settings.secrets.get('REDIS_PASSWORD', '')}@{t.address('redis')}/0"
                if "redis" in t.ports
                else ""
            ),
            since=dt.datetime.now(dt.UTC),
        )

    # -- what the state file shows ----------------------------------------------------

    def of(self, service: str) -> list[Instance]:
        return [i for i in self.instances if i.service.name == service]

    def to_records(self) -> list[dict[str, Any]]:
        records = []
        for i in self.instances:
            port = i.service.port
            records.append(
                {
                    "name": i.name,
                    "service": i.service.name,
                    "group": i.service.group,
                    "pid": i.pid,
                    "address": f"127.0.0.1:{port}" if port else None,
                    "port": port,
                    "log": str(i.log_file or self.settings.paths.logs / f"{i.name}.log"),
                    "state": i.state,
                    "node": i.node or None,
                    "healthy_after_s": i.healthy_s,
                    "returncode": i.returncode,
                }
            )
        return records

    # -- starting ---------------------------------------------------------------------

    def _ready(self, condition: str, service: str) -> bool:
        found = self.of(service)
        wanted = {"completed"} if condition == "completed" else {"healthy"}
        return bool(found) and all(i.state in wanted for i in found)

    def _deps_met(self, instance: Instance) -> bool:
        return all(self._ready(c, s) for s, c in instance.service.depends_on.items())

    def _environment(self, instance: Instance) -> dict[str, str]:
        env = dict(os.environ)
        for leaked in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
            env.pop(leaked, None)
        bin_dir = str(self.settings.topology.bin_dir)
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
        env.update(instance.service.environment)
        # Marks every process of this stack (down and the tests find them by it).
        env["MLHARNESS_STACK_DIR"] = str(self.settings.paths.root.resolve())
        if instance.node:
            env[AIRFLOW_HOSTNAME_ENV] = instance.name
        return env

    def _before(self, instance: Instance) -> None:
        """What must exist before a service starts (its files, its data directory)."""
        s = self.settings
        name = instance.service.name
        if name == "postgres":
            created = prepare_cluster(
                s.paths, s.topology.pg_bin_dir, s.secrets["POSTGRES_PASSWORD"]
            )
            self.say(f"postgres: {'new cluster' if created else 'existing cluster'}")
        elif name == "redis":
            write_secret(s.paths.redis_conf, s.redis_conf)
            (s.paths.redis_conf.parent / "data").mkdir(exist_ok=True)
        elif name == "airflow-init":
            s.paths.airflow_home.mkdir(parents=True, exist_ok=True)
            write_secret(s.paths.passwords_file, s.passwords)
        elif name in ("prometheus", "alertmanager"):
            (s.paths.root / name).mkdir(parents=True, exist_ok=True)
        elif name == "mlflow":
            (s.paths.root / "mlflow" / "artifacts").mkdir(parents=True, exist_ok=True)
            (s.paths.root / "mlflow" / "metrics").mkdir(parents=True, exist_ok=True)

    def _after(self, instance: Instance) -> None:
        if instance.service.name == "postgres":
            s = self.settings
            ensure_databases(
                s.topology.port("postgres"),
                s.secrets["POSTGRES_PASSWORD"],
                {
                    "airflow": s.secrets["POSTGRES_PASSWORD"],
                    "mlflow": s.secrets["MLFLOW_DB_PASSWORD"],
                },
            )

    def _start(self, instance: Instance) -> None:
        self._before(instance)
        service = instance.service
        command = list(service.command)
        if instance.node:
            command += ["--celery-hostname", instance.node]
        cwd = self.settings.paths.postgres if service.user else self.settings.paths.root
        instance.started = self.supervisor.start(
            instance.name,
            command,
            env=self._environment(instance),
            cwd=cwd,
            user=service.user,
            stop_signal=signal.Signals[service.stop_signal],
            append=True,
        )
        instance.state = "starting"
        instance.started_at = time.monotonic()
        instance.next_probe = instance.started_at + 0.5
        self.record(self)

    def _failed(self, instance: Instance, why: str) -> ExternalServiceError:
        instance.state = "failed"
        self.record(self)
        return ExternalServiceError(f"{instance.name} {why}; log: {instance.log_file}")

    def _check(self, instance: Instance) -> None:
        """One look at a starting instance; raises when it cannot become healthy."""
        assert instance.started is not None
        now = time.monotonic()
        code = instance.started.process.poll()
        if code is not None:
            instance.returncode = code
            if isinstance(instance.service.health, Completed) and code == 0:
                instance.state = "completed"
                instance.healthy_s = round(now - instance.started_at, 2)
                self.supervisor.stop(instance.started)  # nothing it forked outlives it
                self.say(f"{instance.name}: completed in {instance.healthy_s:.1f} s")
                self.record(self)
                return
            raise self._failed(instance, f"exited with code {code} before it was healthy")
        if now < instance.next_probe:
            return
        instance.next_probe = now + _PROBE_EVERY_S
        if probe(instance.service.health, self.context, instance.node):
            self._after(instance)
            instance.state = "healthy"
            instance.healthy_s = round(now - instance.started_at, 2)
            self.say(f"{instance.name}: healthy in {instance.healthy_s:.1f} s")
            self.record(self)
            return
        deadline = instance.service.timing.deadline_s
        if now - instance.started_at > deadline:
            raise self._failed(instance, f"did not become healthy within {deadline} s")

    def start_all(self) -> None:
        """Start every service but the deferred one, in dependency order, all healthy."""
        pending = [i for i in self.instances if i.service.name != DEFERRED]
        while True:
            for instance in list(pending):
                if self._deps_met(instance):
                    pending.remove(instance)
                    self._start(instance)
            starting = [i for i in self.instances if i.state == "starting"]
            for instance in starting:
                self._check(instance)
            if not pending and not starting:
                return
            if pending and not starting:  # nothing can ever start them: a table bug
                names = ", ".join(i.name for i in pending)
                raise ExternalServiceError(f"cannot start {names}: their dependencies failed")
            time.sleep(0.2)

    def wait_dags(self) -> None:
        """Until the dag-processor has loaded every DAG of the pipeline (and it is unpaused)."""
        t = self.settings.topology
        api = AirflowApi(
            f"http://{t.address('airflow-apiserver')}",
            self.settings.admin_user,
            self.settings.secrets["AIRFLOW_ADMIN_PASSWORD"],
        )
        waiting = list(self.settings.dag_ids)
        processor = self.of("airflow-dag-processor")[0]

        def loaded() -> bool:
            nonlocal waiting
            with contextlib.suppress(OSError):  # the api-server is busy: ask again
                waiting = [d for d in waiting if not api.dag_loaded(d)]
            return not waiting

        wait_until(
            f"airflow-dag-processor to load {', '.join(waiting)}",
            loaded,
            _DAGS_DEADLINE_S,
            interval_s=1.0,
            watch=processor.started,
        )
        self.say(f"dags: {', '.join(self.settings.dag_ids)} loaded and unpaused")

    # -- watching -----------------------------------------------------------------------

    def alias_held(self) -> str | None:
        t = self.settings.topology
        return alias_version(
            f"http://{t.address('mlflow')}", self.settings.model, self.settings.alias
        )

    def start_scoring_if_ready(self) -> None:
        """Start the scoring server once a version holds the alias; check it while it
        starts. A scoring server that fails is reported, not fatal to the stack."""
        for instance in self.of(DEFERRED):
            if instance.state in ("pending", "waiting"):
                if not self._deps_met(instance) or self.alias_held() is None:
                    if instance.state != "waiting":
                        instance.state = "waiting"
                        self.record(self)
                    continue
                self.say(
                    f"{instance.name}: models:/{self.settings.model}@{self.settings.alias} exists"
                )
                self._start(instance)
            if instance.state == "starting":
                try:
                    self._check(instance)
                except ExternalServiceError as exc:
                    self.say(f"error: {exc.one_line()}")

    def notice_exits(self) -> None:
        """Record every process that has ended since the last look (a killed worker...)."""
        for instance in self.instances:
            if instance.started is None or instance.state in ("exited", "completed", "failed"):
                continue
            code = instance.started.process.poll()
            if code is not None:
                instance.state = "exited"
                instance.returncode = code
                self.say(f"{instance.name}: exited with code {code}; log: {instance.log_file}")
                self.record(self)

    def watch(self, interval_s: float = 1.0) -> None:
        """Until interrupted (Ctrl-C, SIGTERM, ``down``): notice exits, start scoring."""
        while True:
            self.notice_exits()
            self.start_scoring_if_ready()
            time.sleep(interval_s)
