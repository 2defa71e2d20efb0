"""``up``, ``down`` and ``status``: a pipeline's whole stack as processes on this machine.

``up`` checks the config and the installed binaries first (exit 2, nothing started), claims
the state directory (another stack's: exit 2; a running one: exit 2), renders the DAGs
(``mlharness airflow render``) and the monitoring files (``mlharness monitor render``,
pointed at this machine's addresses) into it, and starts the service table
(:mod:`orchestration.services`) in dependency order, each gated on its health check. Then
it supervises: the scoring server starts once a version holds the alias; Ctrl-C, SIGTERM
or ``down`` stop every process group, newest first. Any failure stops everything already
started and ends in one line naming the service and its log (exit 5).

With ``--detach`` the same ``up`` runs in the background (its own session, output in
``logs/up.log``) and this one returns once the stack is healthy, or failed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Literal

from harness.kernel.errors import ExitCode, MlharnessError
from orchestration.local_stack.health import ProbeContext, probe
from orchestration.local_stack.layout import (
    STATE_VERSION,
    StackError,
    StackPaths,
    claim,
    default_state_dir,
    held_lock,
    lock_is_held,
    read_state,
    write_state,
)
from orchestration.local_stack.ports import choose_ports, release_ports
from orchestration.local_stack.requirements import Installed, check_installed
from orchestration.local_stack.runner import DEFERRED, Runner, RunnerSettings
from orchestration.processes import Started, Supervisor, group_alive, stop_group
from orchestration.services import USUAL_PORTS, Service, Topology, services

__all__ = [
    "GRAFANA_NOTE",
    "DownResult",
    "StackFailed",
    "StackStatus",
    "UpRequest",
    "UpResult",
    "down",
    "resolve_state_dir",
    "status",
    "up",
]

Executor = Literal["local", "celery"]
GRAFANA_NOTE = (
    "no Grafana server runs here: its dashboards and datasource are provisioned for your "
    "own Grafana under {dir}"
)
_DETACH_DEADLINE_S = 1800.0


class StackFailed(MlharnessError):
    """The detached ``up`` failed: its message and exit code, passed on."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = ExitCode(exit_code)


@dataclass(frozen=True)
class UpRequest:
    config: Path
    state_dir: Path | None = None
    executor: Executor = "local"
    celery_workers: int = 2
    detach: bool = False
    dry_run: bool = False


@dataclass
class StackStatus:
    """What ``status`` shows: each service's pid, address, health and log, and the URLs."""

    stack: str
    state_dir: str
    phase: str  # starting, running, failed, stopped
    running: bool
    supervisor_pid: int | None
    executor: str
    services: list[dict[str, Any]] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)
    admin: dict[str, str] = field(default_factory=dict)
    grafana: str = ""
    message: str = ""

    @property
    def healthy(self) -> bool:
        ok = {"healthy", "completed", "waiting"}
        return self.running and all(s["health"] in ok for s in self.services)

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "healthy": self.healthy}


@dataclass(frozen=True)
class UpResult:
    """How ``up`` ended: stopped by a signal or ``down`` (foreground), or healthy
    (detached), or only planned (dry run)."""

    status: StackStatus | None
    seconds_to_healthy: float | None
    detached: bool = False
    dry_run: bool = False
    plan: list[dict[str, object]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "status": self.status.to_dict() if self.status else None,
            "seconds_to_healthy": self.seconds_to_healthy,
            "detached": self.detached,
            "dry_run": self.dry_run,
            "plan": self.plan,
        }


@dataclass(frozen=True)
class DownResult:
    state_dir: str
    was_running: bool
    stopped: list[str]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


# -- planning ---------------------------------------------------------------------------


def _checked(config: Path, executor: Executor) -> tuple[Any, str]:
    """The config, checked as ``mlharness airflow render`` checks it (every problem, exit 2)."""
    from orchestration.pipelines.operations import PipelineRequest, write_pipeline

    probe_out = Path(os.devnull) / "unused"  # a dry run writes nothing
    result = write_pipeline(PipelineRequest(config, probe_out, executor, dry_run=True))
    from harness.schemas.pipeline_config import load

    return load(config), result.pipeline


def _usual_ports(names: list[str], serving_port: int) -> dict[str, int]:
    return {n: serving_port if n == "scoring" else USUAL_PORTS[n] for n in names}


def _read_env(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and key and not key.startswith("#"):
                values[key] = value
    return values


def _topology(
    paths: StackPaths,
    config: Any,
    executor: str,
    workers: int,
    ports: dict[str, int],
    secrets: dict[str, str],
    installed: Installed,
) -> Topology:
    from monitoring.stack.settings import settings_from_config

    serve_args = settings_from_config(config, "config").serve_args
    return Topology(
        kind="local",
        executor=executor,  # type: ignore[arg-type]
        workers=workers,
        ports=ports,
        secrets=secrets,
        state_dir=paths.root.resolve(),
        bin_dir=installed.bin_dir,
        pg_bin_dir=installed.pg_bin_dir,
        dags_dir=paths.dags.resolve(),
        monitoring_dir=paths.monitoring.resolve(),
        admin_user=secrets.get("AIRFLOW_ADMIN_USER") or "admin",
        serve_args=serve_args,
        model_uri=f"models:/{config.model.name}@{config.promotion.alias}",
    )


def _masked(value: str, secrets: dict[str, str]) -> str:
    for secret in secrets.values():
        if len(secret) >= 8:
            value = value.replace(secret, "***")
    return value


def _plan(table: list[Service], secrets: dict[str, str]) -> list[dict[str, object]]:
    return [
        {
            "name": s.name,
            "command": [_masked(a, secrets) for a in s.command],
            "port": s.port,
            "depends_on": dict(s.depends_on),
            "replicas": s.replicas,
        }
        for s in table
    ]


def _urls(ports: dict[str, int]) -> dict[str, str]:
    names = {
        "airflow": "airflow-apiserver",
        "mlflow": "mlflow",
        "serving": "scoring",
        "prometheus": "prometheus",
        "alertmanager": "alertmanager",
        "pushgateway": "pushgateway",
        "blackbox": "blackbox",
    }
    return {label: f"http://127.0.0.1:{ports[s]}" for label, s in names.items() if s in ports}


# -- up -----------------------------------------------------------------------------------


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM (``down``) and SIGINT (Ctrl-C) end the watch the same way."""
    previous = {s: signal.signal(s, _raise_interrupt) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _ignore_signals() -> None:
    """While stopping: a second Ctrl-C or SIGTERM must not cut the stop short."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_IGN)


def up(
    request: UpRequest,
    say: Callable[[str], None] = lambda _line: None,
    on_ready: Callable[[StackStatus], None] = lambda _status: None,
) -> UpResult:
    """Start the stack and supervise it until stopped (or, detached, until healthy)."""
    config, name = _checked(request.config, request.executor)
    paths = StackPaths(request.state_dir or default_state_dir(name))
    installed = check_installed(request.executor)
    if request.celery_workers < 1:
        raise StackError("--celery-workers must be at least 1")
    if lock_is_held(paths):
        state = read_state(paths)
        raise StackError(
            f"the stack in {paths.root} is already running "
            f"(supervisor pid {state.get('supervisor_pid', '?')})",
            hint="mlharness status / mlharness down",
        )
    if request.dry_run:
        secrets = {k: "***" for k in _SECRET_NAMES}
        names = _service_names(request.executor)
        ports = choose_ports(_usual_ports(names, config.serving.port), claim=False)
        topology = _topology(
            paths, config, request.executor, request.celery_workers, ports, secrets, installed
        )
        return UpResult(None, None, dry_run=True, plan=_plan(services(topology), {}))
    claim(paths, name, request.config)
    if request.detach:
        return _detached(request, paths)
    return _supervise(request, config, name, paths, installed, say, on_ready)


_SECRET_NAMES = (
    "POSTGRES_PASSWORD",
    "MLFLOW_DB_PASSWORD",
    "AIRFLOW_ADMIN_PASSWORD",
    "AIRFLOW_FERNET_KEY",
    "AIRFLOW_API_SECRET_KEY",
    "AIRFLOW_JWT_SECRET",
    "REDIS_PASSWORD",
)


def _service_names(executor: str) -> list[str]:
    names = ["postgres", "mlflow"]
    if executor == "celery":
        names.append("redis")
    names += ["airflow-apiserver", "airflow-scheduler"]
    names += ["pushgateway", "blackbox", "alertmanager", "prometheus", "scoring"]
    return names


def _supervise(
    request: UpRequest,
    config: Any,
    name: str,
    paths: StackPaths,
    installed: Installed,
    say: Callable[[str], None],
    on_ready: Callable[[StackStatus], None],
) -> UpResult:
    from monitoring.stack.operations import write_stack
    from orchestration.pipelines.operations import PipelineRequest, write_pipeline

    began = time.monotonic()
    with held_lock(paths):
        write_pipeline(PipelineRequest(request.config, paths.pipeline, request.executor))
        secrets = _read_env(paths.env_file)
        names = _service_names(request.executor)
        ports = choose_ports(_usual_ports(names, config.serving.port))
        write_stack(
            request.config,
            paths.monitoring,
            urls={
                "serving_url": f"http://127.0.0.1:{ports['scoring']}",
                "mlflow_url": f"http://127.0.0.1:{ports['mlflow']}",
                "pushgateway_url": f"http://127.0.0.1:{ports['pushgateway']}",
                "alertmanager_url": f"http://127.0.0.1:{ports['alertmanager']}",
                "blackbox_url": f"http://127.0.0.1:{ports['blackbox']}",
            },
        )
        topology = _topology(
            paths, config, request.executor, request.celery_workers, ports, secrets, installed
        )
        admin = topology.admin_user
        settings = RunnerSettings(
            paths=paths,
            topology=topology,
            secrets=secrets,
            model=config.model.name,
            alias=config.promotion.alias,
            dag_ids=(f"{name}_train", f"{name}_drift"),
            redis_conf=_redis_conf(paths, ports.get("redis", 0), secrets["REDIS_PASSWORD"]),
            passwords=json.dumps({admin: secrets["AIRFLOW_ADMIN_PASSWORD"]}) + "\n",
            admin_user=admin,
        )
        base: dict[str, Any] = {
            "version": STATE_VERSION,
            "stack": name,
            "config": str(request.config.resolve()),
            "state_dir": str(paths.root.resolve()),
            "executor": request.executor,
            "workers": request.celery_workers,
            "ports": ports,
            "urls": _urls(ports),
            "supervisor_pid": os.getpid(),
            "admin": {"user": admin, "password_file": str(paths.passwords_file.resolve())},
            "model": config.model.name,
            "alias": config.promotion.alias,
        }
        phase: dict[str, object] = {"phase": "starting", "message": "", "exit_code": None}

        def record(runner: Runner) -> None:
            write_state(paths, {**base, **phase, "services": runner.to_records()})

        supervisor = Supervisor(paths.logs, grace_s=20.0)
        runner = Runner(settings, services(topology), supervisor, record, say)
        record(runner)
        healthy_after: float | None = None
        try:
            with _signals_interrupt():
                try:
                    runner.start_all()
                    runner.wait_dags()
                    _scoring_if_held(runner)
                    healthy_after = round(time.monotonic() - began, 2)
                    phase.update(phase="running")
                    record(runner)
                    say(f"stack {name!r}: healthy in {healthy_after:.1f} s")
                    on_ready(status(paths.root, live=False))
                    runner.watch()
                except KeyboardInterrupt:
                    say("stopping")
        except MlharnessError as exc:
            phase.update(phase="failed", message=exc.one_line(), exit_code=int(exc.exit_code))
            raise
        except BaseException as exc:
            phase.update(phase="failed", message=f"{type(exc).__name__}: {exc}", exit_code=70)
            raise
        finally:
            _ignore_signals()
            stop_together(supervisor)
            release_ports()
            for instance in runner.instances:
                if instance.state not in ("failed", "exited"):
                    instance.state = "stopped"
            if phase["phase"] != "failed":
                phase.update(phase="stopped")
            record(runner)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
        return UpResult(status(paths.root, live=False), healthy_after)


# Stopped after everything else: what the other services write to.
_STORES = ("postgres", "redis")


def _stop_groups(entries: list[Started], grace_s: float) -> None:
    """Signal every group at once, then SIGKILL what is left after ``grace_s``."""
    for entry in entries:
        if entry.process.poll() is None or group_alive(entry.process.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(entry.process.pid, entry.stop_signal)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        for entry in entries:
            entry.process.poll()  # reap our own children as they end
        if not any(group_alive(e.process.pid) for e in entries):
            break
        time.sleep(0.1)
    for entry in entries:
        stop_group(entry.process, 5.0, signal.SIGKILL)


def stop_together(supervisor: Supervisor) -> None:
    """Stop the stack: every service at once, then the stores they wrote to (PostgreSQL
    with its fast shutdown), so a stop takes as long as the slowest service, not the sum."""
    clients = [e for e in supervisor.started if e.name not in _STORES]
    stores = [e for e in supervisor.started if e.name in _STORES]
    for tier in (clients, stores):
        _stop_groups(tier, supervisor.grace_s)
        for entry in tier:
            supervisor.started.remove(entry)
    supervisor.stop_all()  # anything left (none expected)


def _scoring_if_held(runner: Runner) -> None:
    """At start: when a version already holds the alias, the scoring server is part of
    "all healthy"; otherwise it waits for the first promotion."""
    runner.start_scoring_if_ready()
    for instance in runner.of(DEFERRED):
        while instance.state == "starting":
            runner._check(instance)
            time.sleep(0.2)


def _redis_conf(paths: StackPaths, port: int, password: str) -> str:
    return (
        "# Written by mlharness up: loopback only, password-protected, no persistence.\n"
        f"bind 127.0.0.1\nport {port}\nprotected-mode yes\nrequirepass {password}\n"
        f'dir {(paths.redis_conf.parent / "data").resolve()}\nsave ""\nappendonly no\n'
        'daemonize no\nlogfile ""\n'
    )


def _detached(request: UpRequest, paths: StackPaths) -> UpResult:
    """Run ``up`` in the background; return once it is healthy (or raise its failure)."""
    command = [sys.executable, "-m", "harness.app", "up", str(request.config)]
    command += ["--state-dir", str(paths.root), "--executor", request.executor]
    command += ["--celery-workers", str(request.celery_workers)]
    paths.logs.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with (paths.logs / "up.log").open("ab") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    while time.monotonic() - began < _DETACH_DEADLINE_S:
        state = read_state(paths)
        mine = state.get("supervisor_pid") == process.pid
        if mine and state.get("phase") == "running":
            return UpResult(
                status(paths.root, live=False), round(time.monotonic() - began, 2), True
            )
        code = process.poll()
        if code is not None:
            message = state.get("message") if mine else ""
            raise StackFailed(
                message or f"up exited with code {code}; log: {paths.logs / 'up.log'}",
                code if code in {int(c) for c in ExitCode} else int(ExitCode.EXTERNAL),
            )
        time.sleep(0.5)
    raise StackFailed(f"up did not become healthy; log: {paths.logs / 'up.log'}", 5)


# -- status and down ------------------------------------------------------------------


def resolve_state_dir(state_dir: Path | None) -> Path:
    """``--state-dir``, else the one stack under ``.mlharness/stack`` (exit 2 if not one)."""
    if state_dir is not None:
        if not (state_dir / "stack.json").is_file():
            raise StackError(f"no stack in {state_dir}", hint="mlharness up CONFIG")
        return state_dir
    root = Path(".mlharness") / "stack"
    found = sorted(p for p in root.glob("*") if (p / "stack.json").is_file())
    if len(found) != 1:
        listed = ", ".join(str(p) for p in found) or f"none under {root}"
        raise StackError(f"which stack? give --state-dir ({listed})")
    return found[0]


def _probe_context(
    paths: StackPaths, state: dict[str, Any]
) -> tuple[ProbeContext, dict[str, Service]]:
    from harness.schemas.pipeline_config import load

    secrets = _read_env(paths.env_file)
    ports = {k: int(v) for k, v in state.get("ports", {}).items()}
    installed = check_installed(str(state.get("executor", "local")))
    config = load(Path(state["config"]))
    topology = _topology(
        paths,
        config,
        str(state.get("executor", "local")),
        int(state.get("workers", 1)),
        ports,
        secrets,
        installed,
    )
    table = {s.name: s for s in services(topology)}
    redis = topology.address("redis") if "redis" in ports else ""
    context = ProbeContext(
        pg_bin_dir=installed.pg_bin_dir,
        redis_address=redis,
        redis_password=secrets.get("REDIS_PASSWORD", ""),
        airflow_db=(
            f"postgresql://airflow:{secrets.get('POSTGRES_PASSWORD', '')}"
            f"@{topology.address('postgres')}/airflow"
        ),
        broker_url=f"redis://:{secrets.get('REDIS_PASSWORD', '')}@{redis}/0" if redis else "",
    )
    return context, table


def _alive(pid: object) -> bool:
    return isinstance(pid, int) and group_alive(pid)


def status(state_dir: Path | None = None, *, live: bool = True) -> StackStatus:
    """The stack's services as recorded, each probed now (``live``) for its health."""
    paths = StackPaths(resolve_state_dir(state_dir))
    state = read_state(paths)
    running = lock_is_held(paths)
    records = list(state.get("services", []))
    context: ProbeContext | None = None
    table: dict[str, Service] = {}
    if live and running and records:
        with contextlib.suppress(MlharnessError):
            context, table = _probe_context(paths, state)
    shown = []
    for record in records:
        health = record.get("state", "unknown")
        if running and health in ("healthy", "starting", "exited", "failed") and record.get("pid"):
            if not _alive(record["pid"]):
                health = "exited"
            elif context is not None and record["service"] in table:
                ok = probe(table[record["service"]].health, context, record.get("node") or "")
                health = "healthy" if ok else "unhealthy"
        if not running and health not in ("failed", "exited"):
            health = "stopped"
        shown.append(
            {
                "name": record["name"],
                "pid": record.get("pid") if running and health != "exited" else None,
                "address": record.get("address"),
                "health": health,
                "log": record.get("log"),
            }
        )
    phase = str(state.get("phase", "stopped"))
    if not running and phase in ("starting", "running"):
        phase = "stopped"  # its supervisor is gone
    return StackStatus(
        stack=str(state.get("stack", paths.root.name)),
        state_dir=str(paths.root.resolve()),
        phase=phase,
        running=running,
        supervisor_pid=state.get("supervisor_pid") if running else None,
        executor=str(state.get("executor", "")),
        services=shown,
        urls=dict(state.get("urls", {})),
        admin=dict(state.get("admin", {})),
        grafana=GRAFANA_NOTE.format(dir=paths.monitoring.resolve() / "grafana"),
        message=str(state.get("message", "")),
    )


def _stop_pgid(pgid: int, signum: signal.Signals, grace_s: float) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
    deadline = time.monotonic() + grace_s
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if group_alive(pgid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)


def down(state_dir: Path | None = None, grace_s: float = 60.0) -> DownResult:
    """Stop the stack: its supervisor stops every group; what a killed supervisor left
    behind is stopped here, newest first (PostgreSQL last, with its fast shutdown)."""
    paths = StackPaths(resolve_state_dir(state_dir))
    state = read_state(paths)
    was_running = lock_is_held(paths)
    pid = state.get("supervisor_pid")
    if was_running and isinstance(pid, int):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s + 60
        while lock_is_held(paths) and time.monotonic() < deadline:
            time.sleep(0.2)
    stopped = []
    state = read_state(paths)
    for record in reversed(state.get("services", [])):
        pgid = record.get("pid")
        # Only groups the record says still run: a stopped stack's pids may be reused.
        if record.get("state") not in ("starting", "healthy"):
            continue
        if isinstance(pgid, int) and group_alive(pgid):
            signum = signal.SIGINT if record.get("service") == "postgres" else signal.SIGTERM
            _stop_pgid(pgid, signum, 20.0)
            stopped.append(str(record["name"]))
    if state:
        for record in state.get("services", []):
            if record.get("state") not in ("failed", "exited"):
                record["state"] = "stopped"
        if state.get("phase") in ("starting", "running"):
            state["phase"] = "stopped"
        write_state(paths, state)
    return DownResult(str(paths.root), was_running, stopped)
