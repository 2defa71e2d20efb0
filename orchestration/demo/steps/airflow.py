"""Step 3: render the pipeline of examples/rf-pipeline.yaml and ``airflow dags test`` it.

Airflow runs embedded: a temporary home whose metadata database is a SQLite file the step
names itself, so the DAG run's state and its tasks' states are read from that database's
``dag_run`` and ``task_instance`` rows once ``airflow dags test`` has ended, not parsed
out of Airflow's log.

The empty database ``airflow db migrate`` makes is the same file for the same installed
Airflow, so the first demo keeps a copy in the cache (``$MLHARNESS_CACHE_DIR`` or
~/.cache/mlharness, ``airflow/``, named by the Airflow distributions' versions) and later
demos start from a copy of it instead of migrating again (~4 CPU-s, an Airflow start).
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from harness.kernel.cache import cache_home
from harness.kernel.errors import ExternalServiceError
from harness.kernel.migrated import keep_migrated, versions_digest
from orchestration.demo.context import PIPELINE, REPO, DemoContext, Outcome, Step, Table
from orchestration.processes import Finished

__all__ = ["STEP", "DagRun", "last_dag_run"]

TIMEOUT_S = 600.0


@dataclass(frozen=True)
class DagRun:
    """The state of one DAG run and of its tasks (in the order they started)."""

    run_id: str
    state: str
    tasks: dict[str, str]


def last_dag_run(database: Path, dag_id: str) -> DagRun | None:
    """The newest run of ``dag_id`` in an Airflow metadata database (SQLite), or None."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        row = connection.execute(
            "SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1",
            (dag_id,),
        ).fetchone()
        if row is None:
            return None
        tasks = connection.execute(
            "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?"
            " ORDER BY start_date IS NULL, start_date, task_id",
            (dag_id, row[0]),
        ).fetchall()
    return DagRun(str(row[0]), str(row[1]), {str(t): str(s) for t, s in tasks})


def _airflow(ctx: DemoContext, name: str, args: Sequence[str], env: dict[str, str]) -> Finished:
    """Run one ``airflow`` command under the supervisor (stopped with the demo)."""
    done = ctx.supervisor.run(name, [str(ctx.bin / "airflow"), *args], timeout_s=TIMEOUT_S, env=env)
    ctx.record_pids()
    if done.timed_out:
        raise ExternalServiceError(f"airflow {' '.join(args)} timed out after {TIMEOUT_S:.0f} s")
    return done


def _failure(args: Sequence[str], done: Finished) -> ExternalServiceError:
    tail = "\n".join(done.log().strip().splitlines()[-5:])
    return ExternalServiceError(
        f"airflow {' '.join(args)} exited with {done.returncode}: {tail}",
        hint=f"see {done.log_file}",
    )


def migrated_template() -> Path:
    """Where the cache keeps the empty migrated metadata database of the installed Airflow
    (its name changes with any ``apache-airflow*`` distribution's version)."""
    digest = versions_digest(prefix="apache-airflow")
    return cache_home() / "airflow" / f"metadata-{digest}.db"


def _metadata_database(ctx: DemoContext, database: Path, env: dict[str, str]) -> str:
    """An empty migrated metadata database at ``database`` (:func:`keep_migrated` with the
    cache's template); says where it came from."""
    template = migrated_template()

    def migrate() -> None:
        ctx.progress("airflow db migrate (a temporary Airflow home on SQLite)")
        args = ["db", "migrate"]
        done = _airflow(ctx, "airflow-db-migrate", args, env)
        if done.returncode != 0:
            raise _failure(args, done)

    if keep_migrated(database, template, migrate):
        ctx.progress("the Airflow metadata database: a copy of the one migrated before")
        return f"copy of {template}"
    return "airflow db migrate"


def run(ctx: DemoContext) -> Outcome:
    from orchestration.pipelines.operations import PipelineRequest, write_pipeline

    rendered = ctx.out / "airflow"
    ctx.progress(f"mlharness airflow render {PIPELINE.relative_to(REPO)}")
    result = write_pipeline(PipelineRequest(config=PIPELINE, output=rendered))
    dag_id = f"{result.pipeline}_train"
    dags = rendered / "dags"
    home = Path(tempfile.mkdtemp(prefix="mlharness-demo-airflow-"))
    database = home / "airflow.db"
    env = ctx.env(
        AIRFLOW_HOME=str(home),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{database}",
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        MLHARNESS_PIPELINE_DIR=str(PIPELINE.parent),
    )
    try:
        metadata = _metadata_database(ctx, database, env)
        ctx.progress(f"airflow dags test {dag_id}")
        test = ["dags", "test", dag_id]
        done = _airflow(ctx, "airflow-dags-test", test, env)
        dag_run = last_dag_run(database, dag_id)
        if dag_run is None:  # it failed before the run began (an import error, say)
            raise _failure(test, done)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    tasks = dag_run.tasks
    promoted = tasks.get("promote") == "success"
    outcome = (
        f"the DAG promoted its version to {ctx.alias}"
        if promoted
        else "the DAG's version was not promoted (a gate failed; on_fail: skip)"
    )
    table = Table(f"{dag_id}: {dag_run.state}", ("task", "state"), tuple(tasks.items()))
    ok = (
        done.returncode == 0
        and dag_run.state == "success"
        and all(v in {"success", "skipped"} for v in tasks.values())
    )
    return Outcome(
        ok,
        f"rendered {len(result.dags)} DAGs and the compose stack into {rendered.name}/; "
        f"airflow dags test {dag_id}: run {dag_run.run_id} {dag_run.state} "
        f"({sum(v == 'success' for v in tasks.values())} tasks succeeded, "
        f"{sum(v == 'skipped' for v in tasks.values())} skipped); {outcome}",
        details={
            "dag_id": dag_id,
            "run_id": dag_run.run_id,
            "state": dag_run.state,
            "tasks": tasks,
            "dag_files": [str(rendered / d) for d in result.dags],
            "rendered": str(rendered),
            "promoted": promoted,
            "metadata_database": metadata,
        },
        artifacts={"DAG files": str(dags), "Airflow stack": str(rendered)},
        tables=(table,),
    )


STEP = Step("airflow", "3. Airflow pipeline: render and `airflow dags test`", run)
