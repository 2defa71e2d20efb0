"""Describe the Python environment a run used, without leaking secrets.

The package list is read with ``importlib.metadata`` (what ``pip freeze`` reports, in
tens of milliseconds instead of a second), because the lock digest is part of the cache
key and a cached re-run must answer fast. For ``virtualenv``/``uv`` runs the environment
is built by MLflow from the project's env file, so before the run the lock is that file's
content; after the run the packages actually installed are recorded.
"""

from __future__ import annotations

import fnmatch
import json
import os
import platform
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from harness.kernel.digests import sha256_bytes

__all__ = [
    "ENV_FILES",
    "RECORDED_PREFIXES",
    "SECRET_PATTERNS",
    "Interpreter",
    "built_env_python",
    "complete_after_run",
    "describe",
    "describe_interpreter",
    "env_file_lock",
    "freeze",
    "installed_from_directories",
    "is_secret",
    "lock_digest",
    "recorded_variables",
]

# Variables that can change a result and are worth recording.
RECORDED_PREFIXES = (
    "MLFLOW_",
    "PYTHONHASHSEED",
    "OMP_",
    "MKL_",
    "OPENBLAS_",
    "CUBLAS_",
    "CUDA_VISIBLE_DEVICES",
    "TORCH_",
)
SECRET_PATTERNS = (
    "*_TOKEN",
    "*_TOKEN_*",
    "*_PASSWORD",
    "*_PASSWORD_*",
    "*_SECRET*",
    "*SECRET*",
    "AWS_*",
    "*_API_KEY",
    "*_CREDENTIALS*",
    "*_AUTH*",
)
ENV_FILES = ("python_env.yaml", "conda.yaml", "conda.yml", "requirements.txt")

_FREEZE_SNIPPET = (
    "import importlib.metadata as m, json; "
    "print(json.dumps(sorted({f\"{d.metadata['Name']}=={d.version}\" "
    "for d in m.distributions() if d.metadata['Name']}, key=str.lower)))"
)


def is_secret(name: str) -> bool:
    """True for names that look like they hold a credential."""
    upper = name.upper()
    return any(fnmatch.fnmatchcase(upper, pattern) for pattern in SECRET_PATTERNS)


def recorded_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment variables worth recording, minus anything that looks secret."""
    from harness.kernel.redaction import redact

    return {
        name: redact(value)
        for name, value in sorted(environ.items())
        if name.startswith(RECORDED_PREFIXES) and not is_secret(name)
    }


def freeze(python: str | None = None) -> list[str]:
    """``name==version`` of every installed distribution of ``python`` (default: this one)."""
    if python is None:
        return _installed_here()
    done = subprocess.run(
        [python, "-c", _FREEZE_SNIPPET], capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        return []
    packages: list[str] = json.loads(done.stdout)
    return packages


def _installed_here() -> list[str]:
    """``name==version`` from the ``*.dist-info`` directory names on ``sys.path``.

    The names are what the installer wrote (``name-version.dist-info``), so no METADATA
    file has to be parsed: a listdir per path entry instead of ~100 file reads, which the
    cache lookup of every ``mlharness run`` pays.
    """
    return _dist_infos(sys.path)


def _dist_infos(path: list[str]) -> list[str]:
    """``name==version`` of the ``*.dist-info`` directories on the import path ``path``."""
    found: set[str] = set()
    for entry in path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            stem, dot, kind = name.rpartition(".")
            if dot and kind in {"dist-info", "egg-info"} and "-" in stem:
                project, _, version = stem.partition("-")
                found.add(f"{project}=={version.split('-')[0]}")
    return sorted(found, key=str.lower)


def installed_from_directories() -> dict[str, str]:
    """``{name==version: directory}`` of this environment's packages installed from a local
    directory (PEP 610 ``direct_url.json`` with a ``file://`` URL), e.g. an editable
    mlharness: no index holds them, so a recorded environment installs them from there."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            stem, dot, kind = name.rpartition(".")
            direct = Path(entry or ".") / name / "direct_url.json"
            if not (dot and kind == "dist-info" and "-" in stem and direct.is_file()):
                continue
            try:
                url = str(json.loads(direct.read_text()).get("url", ""))
            except (OSError, ValueError):
                continue
            if url.startswith("file://") and Path(url.removeprefix("file://")).is_dir():
                project, _, version = stem.partition("-")
                found[f"{project}=={version.split('-')[0]}"] = url.removeprefix("file://")
    return found


_DESCRIBE_SNIPPET = (
    "import json, platform, sys; print(json.dumps({'python': platform.python_version(), "
    "'platform': platform.platform(), 'path': [p for p in sys.path if p]}))"
)


class Interpreter(NamedTuple):
    """An interpreter's version, platform and packages (``dist-info`` names)."""

    python: str | None
    platform: str | None
    packages: list[str]


def describe_interpreter(python: str) -> Interpreter:
    """``python``'s version, platform and installed packages (``dist-info`` names, as
    :func:`freeze` writes them for ``local`` runs), asked of that interpreter itself."""
    done = subprocess.run(
        [python, "-I", "-c", _DESCRIBE_SNIPPET],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        return Interpreter(None, None, [])
    data = json.loads(done.stdout)
    return Interpreter(
        str(data["python"]), str(data["platform"]), _dist_infos([str(p) for p in data["path"]])
    )


def env_file_lock(project_dir: Path, env_manager: str) -> str:
    """Lock digest of a project whose environment MLflow builds from its env file."""
    parts = [env_manager]
    for name in ENV_FILES:
        file = project_dir / name
        if file.is_file():
            parts.append(f"{name}\0{sha256_bytes(file.read_bytes())}")
    return sha256_bytes("\n".join(parts).encode())


def lock_digest(packages: list[str]) -> str:
    """Digest of a package list."""
    return sha256_bytes("\n".join(packages).encode())


def describe(project_dir: Path, env_manager: str) -> dict[str, object]:
    """The environment section of a manifest, as known before the run."""
    if env_manager == "local":
        packages = freeze()
        lock = lock_digest(packages)
    else:
        packages = []
        lock = env_file_lock(project_dir, env_manager)
    return {
        "python": platform.python_version() if env_manager == "local" else None,
        "platform": platform.platform(),
        "env_manager": env_manager,
        "lock_digest": lock,
        "pip_freeze": packages,
        "variables": recorded_variables(os.environ),
    }


def built_env_python(project_dir: Path, env_manager: str) -> str | None:
    """The interpreter of the env MLflow built for ``project_dir`` (virtualenv/uv), if any."""
    if env_manager not in {"virtualenv", "uv"}:
        return None
    from harness.store.mlflow_api import virtualenv_dir

    python = virtualenv_dir(project_dir) / "bin" / "python"
    return str(python) if python.exists() else None


def complete_after_run(section: dict[str, object], project_dir: Path) -> None:
    """Fill in the packages and Python of an env that MLflow built during the run."""
    python = built_env_python(project_dir, str(section["env_manager"]))
    if python is None:
        return
    section["pip_freeze"] = freeze(python)
    done = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    section["python"] = done.stdout.strip() or None
