"""Typed doors into the (untyped, partly private) MLflow functions the harness reuses.

Keeping them in one module means one place to change when MLflow moves them, and the
rest of the package stays mypy-strict. mlflow is imported inside each function so that
importing this module costs nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, cast

from harness.kernel.errors import SpecError

__all__ = [
    "MLflowEntryPoint",
    "MLflowParameter",
    "MLflowProject",
    "default_env_manager",
    "is_uri",
    "load_mlproject",
    "local_path_or_none",
    "migrate_sqlite_store",
    "resolve_experiment_id",
    "run_project",
    "virtualenv_dir",
]


class MLflowParameter(Protocol):
    """``mlflow.projects._project_spec.Parameter``: what the harness reads of it."""

    name: str
    type: str
    default: object


class MLflowEntryPoint(Protocol):
    """``mlflow.projects._project_spec.EntryPoint``."""

    name: str
    parameters: dict[str, MLflowParameter]
    command: str


class MLflowProject(Protocol):
    """``mlflow.projects._project_spec.Project`` (entry points, and the env type that
    decides the default env manager)."""

    name: str | None
    env_type: str
    _entry_points: dict[str, MLflowEntryPoint]


def local_path_or_none(value: str) -> str | None:
    """The local path a ``path`` parameter names (plain or ``file://``), else None."""
    from mlflow.utils.file_utils import get_local_path_or_none

    found = get_local_path_or_none(value)  # type: ignore[no-untyped-call]
    return None if found is None else str(found)


def is_uri(value: str) -> bool:
    """MLflow's notion of a ``uri`` parameter value (it has a scheme)."""
    from mlflow.utils import data_utils

    return bool(data_utils.is_uri(value))  # type: ignore[no-untyped-call]


def load_mlproject(project_dir: Path) -> MLflowProject:
    """``mlflow.projects._project_spec.load_project``: MLflow's own MLproject loader; a file
    MLflow refuses is a ``SpecError`` (exit 2) naming the project."""
    from mlflow.exceptions import MlflowException
    from mlflow.projects import _project_spec

    try:
        loaded = _project_spec.load_project(str(project_dir))  # type: ignore[no-untyped-call]
    except MlflowException as exc:
        raise SpecError(f"{project_dir}: {exc.message}", hint="fix the MLproject file") from exc
    return cast(MLflowProject, loaded)


def default_env_manager(project: MLflowProject) -> str:
    """The env manager ``mlflow run`` picks for a project when none is given."""
    from mlflow.projects.backend.local import _env_type_to_env_manager

    return str(_env_type_to_env_manager(project.env_type))  # type: ignore[no-untyped-call]


def virtualenv_dir(project_dir: Path) -> Path:
    """Where MLflow's virtualenv/uv env manager keeps the env it builds for a project."""
    from mlflow.utils.environment import _PythonEnv
    from mlflow.utils.virtualenv import _get_mlflow_virtualenv_root, _get_virtualenv_name

    env_file = project_dir / "python_env.yaml"
    python_env = (
        _PythonEnv.from_yaml(str(env_file))  # type: ignore[no-untyped-call]
        if env_file.is_file()
        else _PythonEnv()  # type: ignore[no-untyped-call]
    )
    root = _get_mlflow_virtualenv_root()  # type: ignore[no-untyped-call]
    name = _get_virtualenv_name(python_env, project_dir)  # type: ignore[no-untyped-call]
    return Path(root) / str(name)


def resolve_experiment_id(experiment_name: str | None) -> str:
    """The experiment id for a name (created when missing; default experiment for None)."""
    from mlflow.projects import _resolve_experiment_id

    return str(_resolve_experiment_id(experiment_name=experiment_name))  # type: ignore[no-untyped-call]


def run_project(
    project_dir: Path,
    entry_point: str,
    parameters: dict[str, str],
    *,
    experiment_id: str,
    env_manager: str,
    run_id: str,
) -> None:
    """``mlflow.projects.run`` on an existing run, synchronously, local backend."""
    import mlflow.projects

    mlflow.projects.run(  # type: ignore[no-untyped-call]
        str(project_dir),
        entry_point=entry_point,
        parameters=parameters,
        experiment_id=experiment_id,
        env_manager=env_manager,
        run_id=run_id,
        synchronous=True,
        backend="local",
    )


def migrate_sqlite_store(database: Path) -> None:
    """Create MLflow's tables in the new sqlite file ``database`` and run its migrations
    (``mlflow.store.db.utils._initialize_tables``, what ``SqlAlchemyStore`` does on a new
    database), without the ``Default`` experiment: that one records the artifact root of
    the process that opens the store first, so MLflow creates it there, as always.
    MLflow's two log lines about creating tables are left out."""
    import logging

    from mlflow.store.db import utils

    logger = logging.getLogger(utils.__name__)
    level = logger.level
    logger.setLevel(logging.WARNING)
    engine = utils.create_sqlalchemy_engine_with_retry(f"sqlite:///{database}")  # type: ignore[no-untyped-call]
    try:
        utils._initialize_tables(engine)  # type: ignore[no-untyped-call]
    finally:
        engine.dispose()
        logger.setLevel(level)
