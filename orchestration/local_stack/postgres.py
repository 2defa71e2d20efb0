"""PostgreSQL for a local stack: one cluster under the state dir, with the Airflow and MLflow
databases, each owned by its own role with its own password (the .env secrets).

PostgreSQL refuses to run as root, so when ``up`` runs as root the cluster belongs to the
``postgres`` user: its directory is chowned to it, initdb runs as it, and the server is
started as it (the service table's ``user``). The server listens on 127.0.0.1 only and has
no Unix socket (a state dir's path can be longer than a socket path may be); every role,
the superuser included, logs in with a password (scram-sha-256).
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
from collections.abc import Mapping
from pathlib import Path

from harness.kernel.errors import ExternalServiceError
from orchestration.local_stack.layout import StackError, StackPaths

__all__ = ["SUPERUSER", "ensure_databases", "pg_user", "prepare_cluster"]

SUPERUSER = "postgres"


def pg_user() -> str | None:
    """The user the server runs as: ``postgres`` when we are root, else ourselves."""
    return "postgres" if os.geteuid() == 0 else None


def _reachable_by(user: str, directory: Path) -> Path | None:
    """The first parent of ``directory`` that ``user`` cannot enter, if any."""
    entry = pwd.getpwnam(user)
    for parent in reversed(directory.resolve().parents):
        mode = parent.stat()
        if mode.st_uid == entry.pw_uid:
            continue
        if not mode.st_mode & stat.S_IXOTH and not (
            mode.st_gid == entry.pw_gid and mode.st_mode & stat.S_IXGRP
        ):
            return parent
    return None


def prepare_cluster(paths: StackPaths, pg_bin: Path, superuser_password: str) -> bool:
    """Create the cluster if the state dir has none (True when it did)."""
    user = pg_user()
    paths.postgres.mkdir(parents=True, exist_ok=True)
    if user is not None:
        blocked = _reachable_by(user, paths.postgres)
        if blocked is not None:
            raise StackError(
                f"the {user} user cannot reach {paths.postgres}: {blocked} is closed to it",
                hint=f"chmod o+x {blocked}, or choose a --state-dir it can reach",
            )
        entry = pwd.getpwnam(user)
        os.chown(paths.postgres, entry.pw_uid, entry.pw_gid)
    os.chmod(paths.postgres, 0o700)
    if (paths.pg_data / "PG_VERSION").exists():
        return False
    password_file = paths.postgres / "initdb-password"
    password_file.write_text(superuser_password + "\n", encoding="utf-8")
    try:
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(password_file, entry.pw_uid, entry.pw_gid)
        os.chmod(password_file, 0o600)
        done = subprocess.run(
            [
                str(pg_bin / "initdb"),
                "-D",
                str(paths.pg_data),
                "-U",
                SUPERUSER,
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            user=user,
            cwd=paths.postgres,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
    finally:
        password_file.unlink(missing_ok=True)
    if done.returncode != 0:
        log = paths.logs / "initdb.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(done.stdout + done.stderr, encoding="utf-8")
        raise ExternalServiceError(f"postgres: initdb failed (exit {done.returncode}); log: {log}")
    return True


def ensure_databases(port: int, superuser_password: str, roles: Mapping[str, str]) -> None:
    """Each role (name -> password) exists with its password and owns a database of its
    name; idempotent, so a resumed stack keeps its data."""
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(
            host="127.0.0.1",
            port=port,
            user=SUPERUSER,
            password=superuser_password,
            dbname="postgres",
            autocommit=True,
            connect_timeout=10,
        ) as conn:
            for role, password in roles.items():
                exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
                verb = "ALTER" if exists.fetchone() else "CREATE"
                conn.execute(
                    sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(role), sql.Literal(password)
                    )
                )
                has_db = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (role,))
                if has_db.fetchone() is None:
                    conn.execute(
                        sql.SQL("CREATE DATABASE {} OWNER {}").format(
                            sql.Identifier(role), sql.Identifier(role)
                        )
                    )
    except psycopg.Error as exc:
        raise ExternalServiceError(f"postgres: cannot create the databases: {exc}") from exc
