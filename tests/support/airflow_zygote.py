"""Imported by the zygote of :class:`tests.support.airflow.AirflowCli` (never by a test): what
every ``airflow dags test`` of a rendered DAG imports and builds before its first task, done
once before the forks.

A cold ``airflow dags test`` of a two-task DAG costs ~11 CPU-s, and half of it is not the
import: the in-process Execution API (a Cadwyn app) generates its versioned routers and
pydantic models on its first request. Built here, every fork starts with it; the app's
event-loop thread is not started (a zygote forks with one thread), each fork starts its own.

Airflow logs import-time warnings (graphviz missing, starlette's test client) to stdout,
which is the zygote's reply channel: while importing, stdout goes to the zygote's stderr.
"""

from __future__ import annotations

import importlib
import os
import sys

from tests.support.paths import REPO

# What ``airflow dags test`` imports, and what the DAG tasks' functions
# (orchestration.pipelines.tasks) import while they run.
PRELOAD = (
    "airflow.__main__",
    "airflow.cli.commands.dag_command",
    "airflow.models.dagrun",
    "airflow.serialization.serialized_objects",
    "airflow.sdk.execution_time.supervisor",
    "airflow.sdk.execution_time.task_runner",
    "orchestration.pipelines.tasks",
    "harness.schemas.validation",
    "harness.run.operations",
    "mlflow",
    "mlflow.tracking",
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.store.model_registry.sqlalchemy_store",
    "harness.store.registry",
    "registry_tools.promote",
    "registry_tools.versions",
    "registry_tools.aliases",
)


def _warm() -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    from airflow.sdk.execution_time.supervisor import in_process_api_server

    app = in_process_api_server().app
    initialize = getattr(app, "_cadwyn_initialize", None)
    if initialize is not None and not getattr(app, "_cadwyn_initialized", True):
        initialize()  # what the app's first __call__ does


sys.stdout.flush()
_stdout = os.dup(1)
os.dup2(2, 1)
try:
    _warm()
finally:
    sys.stdout.flush()
    os.dup2(_stdout, 1)
    os.close(_stdout)

# The zygote found this module through REPO on PYTHONPATH; a forked command's sys.path is
# a cold one's (its PYTHONPATH is the command's environment's).
sys.path.remove(str(REPO))
