"""The health checks of the service table, as this machine runs them.

Each check is one quick probe (a second or two at most) that answers healthy or not;
``up`` repeats it until the service's deadline and ``status`` asks it once.
"""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from orchestration.services import (
    CeleryPing,
    CommandCheck,
    Completed,
    Health,
    HttpCheck,
    JobCheck,
    PostgresReady,
    RedisPing,
)

__all__ = ["ProbeContext", "http_ok", "probe"]


@dataclass(frozen=True)
class ProbeContext:
    """What the probes need besides the check itself."""

    pg_bin_dir: Path
    redis_address: str = ""
    redis_password: str = ""
    airflow_db: str = ""  # libpq URL of the Airflow database
    broker_url: str = ""
    # A job that heartbeats after this moment (UTC) is this stack's, not a past one's.
    since: dt.datetime | None = None


def http_ok(url: str, timeout_s: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False


def _postgres_ready(check: PostgresReady, ctx: ProbeContext) -> bool:
    command = [str(ctx.pg_bin_dir / "pg_isready"), "-h", check.host, "-p", str(check.port)]
    command += ["-U", check.user, "-t", "2"]
    try:
        done = subprocess.run(command, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _redis_ping(ctx: ProbeContext) -> bool:
    host, _, port = ctx.redis_address.rpartition(":")
    secret = ctx.redis_password.encode()
    request = b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n" % (len(secret), secret)
    try:
        with socket.create_connection((host, int(port)), timeout=2) as sock:
            sock.sendall(request)
            answer = b""
            while answer.count(b"\r\n") < 2:
                chunk = sock.recv(256)
                if not chunk:
                    break
                answer += chunk
    except (OSError, ValueError):
        return False
    return answer == b"+OK\r\n+PONG\r\n"


def _job_alive(check: JobCheck, ctx: ProbeContext) -> bool:
    """A running job of this type heartbeat since the stack started (Airflow's own
    ``airflow jobs check``, without starting an Airflow CLI for every probe)."""
    import psycopg

    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=60)
    if ctx.since is not None:
        cutoff = max(cutoff, ctx.since)
    try:
        with psycopg.connect(ctx.airflow_db, connect_timeout=2) as conn:
            row = conn.execute(
                "SELECT 1 FROM job WHERE job_type = %s AND state = 'running' "
                "AND latest_heartbeat > %s LIMIT 1",
                (check.job_type, cutoff),
            ).fetchone()
    except psycopg.Error:
        return False
    return row is not None


def _celery_ping(node: str, ctx: ProbeContext) -> bool:
    from celery import Celery

    app = Celery(broker=ctx.broker_url)
    try:
        answers = app.control.ping(destination=[node], timeout=1.0)
    except Exception:  # the broker is unreachable: not healthy yet
        return False
    finally:
        app.close()
    return any(node in answer for answer in answers)


def probe(check: Health, ctx: ProbeContext, instance: str = "") -> bool:
    """One probe of ``check`` (``instance``: the Celery node name of a worker)."""
    if isinstance(check, HttpCheck):
        return http_ok(check.url)
    if isinstance(check, PostgresReady):
        return _postgres_ready(check, ctx)
    if isinstance(check, RedisPing):
        return _redis_ping(ctx)
    if isinstance(check, JobCheck):
        return _job_alive(check, ctx)
    if isinstance(check, CeleryPing):
        return _celery_ping(instance, ctx)
    if isinstance(check, CommandCheck):
        try:
            return subprocess.run(check.argv, capture_output=True, timeout=10).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False
    assert isinstance(check, Completed)
    return False  # decided by the process's exit code, not by a probe
