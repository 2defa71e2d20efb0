"""What ``up`` needs installed, checked before anything starts: every missing binary or
Python package is named at once with the Debian or pip package that brings it (exit 2)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from orchestration.local_stack.layout import StackError

__all__ = ["Installed", "check_installed", "postgres_bin_dir"]

# binary -> the Debian package that installs it
_DEBIAN = {
    "prometheus": "prometheus",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "prometheus-blackbox-exporter": "prometheus-blackbox-exporter",
    "prometheus-pushgateway": "prometheus-pushgateway",
}
_PG_TOOLS = ("initdb", "postgres", "pg_isready")
# importable module -> the pip package (all in the [airflow] extra of pyproject.toml)
_PYTHON = {
    "airflow": "apache-airflow",
    "psycopg": "psycopg[binary]",
    "prometheus_flask_exporter": "prometheus-flask-exporter",
}


@dataclass(frozen=True)
class Installed:
    """Where the binaries are: the venv's bin and PostgreSQL's server binaries."""

    bin_dir: Path
    pg_bin_dir: Path


def postgres_bin_dir() -> Path | None:
    """PostgreSQL's server binaries: on PATH, else Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found is not None:  # may be a symlink into the version's directory
        directory = Path(found).resolve().parent
        if all((directory / tool).exists() for tool in _PG_TOOLS):
            return directory
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if all((candidate / tool).exists() for tool in _PG_TOOLS):
            return candidate
    return None


def check_installed(executor: str) -> Installed:
    """Every binary and package the stack needs, or one error naming all that are missing."""
    missing: list[str] = []
    bin_dir = Path(sys.executable).parent
    pg = postgres_bin_dir()
    if pg is None or not all((pg / tool).exists() for tool in _PG_TOOLS):
        missing.append("initdb/postgres/pg_isready (Debian package postgresql)")
    binaries = dict(_DEBIAN)
    if executor == "celery":
        binaries["redis-server"] = "redis-server"
    for binary, package in binaries.items():
        if shutil.which(binary) is None:
            missing.append(f"{binary} (Debian package {package})")
    modules = dict(_PYTHON)
    if executor == "celery":
        modules["airflow.providers.celery"] = "apache-airflow-providers-celery"
    for module, package in modules.items():
        try:
            present = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            present = False
        if not present:
            missing.append(f"{module} (pip package {package}: pip install -e '.[airflow]')")
    for program, package in (("airflow", "apache-airflow"), ("mlflow", "mlflow")):
        if not (bin_dir / program).exists():
            missing.append(f"{bin_dir / program} (pip package {package})")
    if missing:
        raise StackError("missing: " + "; ".join(missing))
    assert pg is not None
    return Installed(bin_dir, pg)
