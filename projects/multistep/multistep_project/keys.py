"""Step keys: what decides whether an earlier run of a step may stand in for running it again.

A step is reused only when its own code, its parameters and the bytes of its inputs are
unchanged, and so are the shared code and the environment. MLflow's multistep example reuses
any earlier run with matching parameters, even after the code or the data changed; a key
over content avoids that. Everything is digested from files, never from git, so the key is
the same for a copy of the project, a dirty checkout or a tarball.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Iterable, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
PACKAGE = Path(__file__).resolve().parent.name
STEPS = ("ingest", "featurize", "train", "evaluate")
# The libraries whose version can change a step's output with code and data unchanged.
LIBRARIES = ("mlflow", "scikit-learn", "pandas", "numpy", "scipy")
# Settings that can change a float result with code, data and libraries unchanged (thread
# pools sum in another order): a run under other settings (`mlharness verify --perturb`)
# must compute its steps again, not reuse them.
VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "PYTHONHASHSEED")
KEY_TAG = "multistep.step_key"


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_digest(root: Path) -> str:
    """sha256 over every file under ``root`` (relative path and bytes); a file digests alone."""
    if root.is_file():
        return file_digest(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no such file or directory: {root}")
    return _digest_of(
        (path.relative_to(root).as_posix(), file_digest(path))
        for path in sorted(root.rglob("*"))
        if path.is_file()
    )


def _digest_of(pairs: Iterable[tuple[str, str]]) -> str:
    return hashlib.sha256(json.dumps(sorted(pairs)).encode()).hexdigest()


def step_source(step: str, project_dir: Path = PROJECT_DIR) -> Path:
    """The one module that holds a step's own code."""
    return project_dir / PACKAGE / f"{step}.py"


def project_digest(project_dir: Path = PROJECT_DIR) -> str:
    """The shared code: MLproject, python_env.yaml and every module that is not a step's own.

    A change here may affect every step, so it is part of every key.
    """
    step_files = {step_source(step, project_dir) for step in STEPS}
    files = [project_dir / "MLproject", project_dir / "python_env.yaml"]
    files += [p for p in sorted((project_dir / PACKAGE).glob("*.py")) if p not in step_files]
    return _digest_of((p.relative_to(project_dir).as_posix(), file_digest(p)) for p in files)


def environment() -> dict[str, str]:
    """Python and library versions that run the steps, and the settings in ``VARIABLES``
    that are set."""
    env = {"python": platform.python_version(), **{lib: version(lib) for lib in LIBRARIES}}
    env.update({name: os.environ[name] for name in VARIABLES if name in os.environ})
    return env


def step_key(
    step: str,
    params: Mapping[str, Any],
    input_digests: Mapping[str, str],
    *,
    source_digest: str,
    project: str,
    env: Mapping[str, str],
) -> str:
    """sha256 over everything that decides a step's result, in a canonical JSON form.

    ``params`` are the resolved parameters without the ones naming inputs: an input counts
    by the digest of its content, not by the URI of the run that happened to produce it.
    """
    payload = {
        "step": step,
        "source": source_digest,
        "params": dict(params),
        "inputs": dict(input_digests),
        "project": project,
        "environment": dict(env),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def key_for(
    step: str,
    params: Mapping[str, Any],
    inputs: Mapping[str, Path],
    project_dir: Path = PROJECT_DIR,
) -> str:
    """The key of ``step`` run with ``params`` on the local copies of its ``inputs``."""
    return step_key(
        step,
        {name: value for name, value in params.items() if name not in inputs},
        {name: tree_digest(path) for name, path in inputs.items()},
        source_digest=file_digest(step_source(step, project_dir)),
        project=project_digest(project_dir),
        env=environment(),
    )
