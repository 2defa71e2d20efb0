"""Build the environment a run recorded, with uv: its Python version and its exact packages.

A manifest records the interpreter version and the package list (``pip_freeze``) of the
environment a run used. ``replay --recorded-env`` and ``verify --recorded-env`` rebuild
that environment instead of using today's: ``uv venv`` with the recorded Python (found
on this machine, never downloaded), then ``uv pip sync`` of exactly the recorded
``name==version`` list (no resolution, nothing else installed). Packages that no index
holds because they were installed from a local directory (an editable mlharness, the
project itself) are installed from the recorded source when they live in it, else from
that directory.

uv does not read pip's configuration, so the package sources pip uses here (index URLs,
``find-links`` directories such as a local CPU-only torch wheel) are read from
``pip config list`` and handed to uv; with exact pins, uv then picks the very file pip
picked (``torch==2.13.0+cpu`` exists only in the local directory).

Built environments are cached under ``$MLHARNESS_CACHE_DIR/envs`` (default
``~/.cache/mlharness/envs``) by a key over the lock digest of the package list, the
Python version and the local packages' directories: the second replay reuses it. A build
happens in a temporary directory that is renamed into place only when complete
(``uv venv --relocatable``), so a failed or interrupted build leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.kernel.atomic import write_text_atomic
from harness.kernel.digests import sha256_bytes
from harness.kernel.errors import MlharnessError
from harness.run import environment

if TYPE_CHECKING:
    from harness.schemas.manifest import EnvironmentSection

__all__ = [
    "ENV_MARKER",
    "RecordedEnv",
    "RecordedEnvError",
    "ensure",
    "environment_key",
    "envs_dir",
    "find_python",
    "pip_sources",
    "uv_binary",
]

ENV_MARKER = "mlharness-env.json"
_UV_TIMEOUT_S = 1800


class RecordedEnvError(MlharnessError):
    """The recorded environment cannot be built here (a package or the Python is gone)."""


@dataclass(frozen=True)
class RecordedEnv:
    """A built (or reused) recorded environment."""

    key: str
    path: Path
    python_version: str
    cached: bool
    build_s: float

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    @property
    def bin_dir(self) -> str:
        return str(self.path / "bin")

    def section(self, of_run: str) -> dict[str, str]:
        """What a replay's manifest records about the environment it ran in."""
        return {"key": self.key, "path": str(self.path), "of_run": of_run}


def envs_dir() -> Path:
    """``envs/`` in the mlharness cache (default ``~/.cache/mlharness/envs``)."""
    from harness.kernel.cache import cache_home

    return cache_home() / "envs"


def uv_binary() -> str:
    """The uv beside this interpreter (the dev extra installs it), else the one on PATH."""
    beside = Path(sys.executable).parent / "uv"
    if beside.is_file():
        return str(beside)
    found = shutil.which("uv")
    if found is None:
        raise RecordedEnvError(
            "uv is not installed: a recorded environment is built with uv",
            hint="pip install uv",
        )
    return found


def _version_of(python: str) -> str | None:
    try:
        done = subprocess.run(
            [python, "-I", "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def find_python(version: str) -> str:
    """An interpreter of exactly ``version`` on this machine (pyenv's, this venv's base, or
    ``pythonX.Y`` on PATH); uv is never asked to download one."""
    major_minor = ".".join(version.split(".")[:2])
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates = [
        str(Path(pyenv_root) / "versions" / version / "bin" / f"python{major_minor}"),
        getattr(sys, "_base_executable", sys.executable),
        shutil.which(f"python{major_minor}") or "",
        shutil.which("python3") or "",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and _version_of(candidate) == version:
            return candidate
    raise RecordedEnvError(
        f"Python {version} of the recorded environment is not installed here",
        hint=f"pyenv install {version}",
    )


def pip_sources(python: str | None = None) -> list[str]:
    """uv options for the package sources pip is configured with here (``pip config list``:
    files and ``PIP_*`` variables): index URL, extra index URLs and find-links directories."""
    done = subprocess.run(
        [python or sys.executable, "-m", "pip", "config", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    options: dict[str, list[str]] = {"index-url": [], "extra-index-url": [], "find-links": []}
    for line in done.stdout.splitlines():
        key, _, raw = line.partition("=")
        name = key.rpartition(".")[2]
        if name in options:
            for value in raw.strip().strip("'\"").split():
                if value not in options[name]:
                    options[name].append(value)
    args: list[str] = []
    for name, values in options.items():
        for value in values[:1] if name == "index-url" else values:
            args += [f"--{name}", value]
    return args


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _local_sources(
    packages: list[str], recorded_repo: str | None, checkout_root: Path | None
) -> dict[str, str]:
    """``{name==version: directory}`` for recorded packages that came from a local
    directory: from the recorded source checkout when the directory is inside the recorded
    repository, else the directory itself (as installed in this environment)."""
    here = environment.installed_from_directories()
    found: dict[str, str] = {}
    for requirement in packages:
        directory = here.get(requirement)
        if directory is None:
            continue
        if recorded_repo and checkout_root is not None:
            try:
                inside = Path(directory).resolve().relative_to(Path(recorded_repo).resolve())
            except ValueError:
                inside = None
            if inside is not None and (checkout_root / inside).is_dir():
                directory = str(checkout_root / inside)
        found[requirement] = directory
    return found


def environment_key(python: str, packages: list[str], local: Mapping[str, str]) -> str:
    """The cache key of a recorded environment: lock digest, Python, local sources."""
    lock = environment.lock_digest(packages)
    text = json.dumps({"lock": lock, "python": python, "local": dict(sorted(local.items()))})
    return f"py{python}-{sha256_bytes(text.encode())[:24]}"


def _requirements(packages: list[str], local: Mapping[str, str]) -> str:
    lines = []
    for requirement in packages:
        name = requirement.partition("==")[0]
        lines.append(
            f"{name} @ file://{local[requirement]}" if requirement in local else requirement
        )
    return "\n".join(lines) + "\n"


def _failed_package(text: str, packages: list[str]) -> str | None:
    """The recorded requirement uv's error names first."""
    lowered = text.lower()
    best: tuple[int, str] | None = None
    for requirement in packages:
        name, _, version = requirement.partition("==")
        for spelled in {name, _normal(name), name.replace("_", "-")}:
            index = lowered.find(f"{spelled.lower()}=={version.lower()}")
            if index < 0:
                match = re.search(rf"\b{re.escape(spelled.lower())}\b was not found", lowered)
                index = match.start() if match else -1
            if index >= 0 and (best is None or index < best[0]):
                best = (index, requirement)
    return best[1] if best else None


def _uv(args: list[str], packages: list[str], what: str) -> None:
    try:
        done = subprocess.run(
            args, capture_output=True, text=True, timeout=_UV_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RecordedEnvError(f"{what} failed: {exc}") from exc
    if done.returncode == 0:
        return
    reasons = [
        line.strip().removeprefix("error:").removeprefix("cause:").strip()
        for line in done.stderr.splitlines()
        if line.strip() and not line.startswith(("Using ", "Resolved ", "Prepared "))
    ]
    package = _failed_package(done.stderr, packages)
    reason = reasons[-1] if reasons else f"uv exited {done.returncode}"
    if package is not None:
        raise RecordedEnvError(
            f"package {package} of the recorded environment can no longer be installed: {reason}"
        )
    raise RecordedEnvError(f"{what} failed: {reason}")


def _build(target: Path, python: str, packages: list[str], local: Mapping[str, str]) -> None:
    uv = uv_binary()
    _uv(
        [uv, "venv", "--quiet", "--relocatable", "--python", python, str(target)],
        packages,
        "uv venv",
    )
    requirements = target / "mlharness-requirements.txt"
    requirements.write_text(_requirements(packages, local))
    _uv(
        [
            uv,
            "pip",
            "sync",
            "--quiet",
            # No --compile-bytecode: compiling all 244 packages costs ~38 CPU-s (~4x the
            # sync); a run imports a small part of them, and Python writes those .pyc files
            # on first import (unless PYTHONDONTWRITEBYTECODE: then ~3 CPU-s per process).
            "--python",
            str(target / "bin" / "python"),
            "--index-strategy",
            "unsafe-best-match",
            *pip_sources(),
            str(requirements),
        ],
        packages,
        "uv pip sync",
    )


def ensure(
    env: EnvironmentSection,
    *,
    of_run: str,
    recorded_repo: str | None = None,
    checkout_root: Path | None = None,
) -> RecordedEnv:
    """The environment the manifest section ``env`` describes (its ``python`` and
    ``pip_freeze``): reused from the cache, or built now. Raises ``RecordedEnvError``
    (exit 2) naming the package or Python that cannot be had."""
    version, packages = env.python, list(env.pip_freeze)
    if not version or not packages:
        raise RecordedEnvError(
            f"run {of_run} recorded no Python version or package list",
            hint="only runs whose manifest lists their packages can be replayed in them",
        )
    local = _local_sources(packages, recorded_repo, checkout_root)
    key = environment_key(version, packages, local)
    final = envs_dir() / key
    if (final / ENV_MARKER).is_file():
        return RecordedEnv(key, final, version, cached=True, build_s=0.0)
    python = find_python(version)
    final.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    staging = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=final.parent))
    try:
        shutil.rmtree(staging)
        _build(staging, python, packages, local)
        build_s = round(time.monotonic() - started, 3)
        write_text_atomic(
            staging / ENV_MARKER,
            json.dumps(
                {"key": key, "python": version, "packages": len(packages), "build_s": build_s},
                indent=2,
            )
            + "\n",
        )
        try:
            staging.rename(final)
        except OSError:
            # Another process built the same environment meanwhile: use theirs.
            if not (final / ENV_MARKER).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RecordedEnv(key, final, version, cached=False, build_s=build_s)
