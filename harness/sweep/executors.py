"""Where trials run: a local process pool, or a Dask cluster; and the trial function itself.

Every trial is one call of :func:`run_trial` in a process of its own (a pool worker, or a
Dask worker), which calls THE run operation with the sweep's parent run id. Nothing here
uses MLflow's in-process active run, so any number of trials run side by side. The
entry point's output goes to the trial's log file, not to the sweep's terminal.

The parent asks a running trial to stop (pruned, Ctrl-C, ``--fail-fast``) through the
tracking store: it tags the child run with ``mlharness.sweep.stop``; a watcher thread
beside the trial sees the tag and terminates the entry point's processes (found by the
``MLFLOW_RUN_ID`` MLflow gives them). The same channel works on a pool and on a cluster.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.kernel.errors import ExternalServiceError, MlharnessError
from harness.sweep.definition import (
    TAG_ATTEMPT,
    TAG_PRUNED,
    TAG_STOP,
    TAG_TRIAL,
    TrialRecord,
    TrialStatus,
)

if TYPE_CHECKING:
    import psutil

    from harness.store.mlflow_boundary import Client

__all__ = [
    "DaskPool",
    "LocalPool",
    "TrialPool",
    "TrialTask",
    "find_attempt_run",
    "run_trial",
]

WATCH_INTERVAL_S = 0.5
_MLFLOW_LOG_LINE = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} (INFO|WARNING|DEBUG) ")
_ACTIVE = threading.Event()  # a trial is running in this worker process
_CLIENTS: dict[str, Client] = {}
_CLIENTS_LOCK = threading.Lock()


@dataclass(frozen=True)
class TrialTask:
    """One trial, as sent to a worker (picklable: plain values only)."""

    index: int
    attempt: str
    params: dict[str, str]
    project: str
    entry_point: str
    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    log_path: str
    env_manager: str | None = None
    experiment_name: str | None = None
    version: str | None = None
    force: bool = False
    # Mark earlier attempts still RUNNING as KILLED first (a Dask retry after a worker died;
    # a local pool leaves that to the sweep, which retires a resumed sweep's orphans itself).
    retire_orphans: bool = False
    extra: dict[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def _output_to(path: str) -> Iterator[None]:
    """Send this process's stdout and stderr (and its children's) to ``path``."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def find_attempt_run(client: Client, experiment_id: str, attempt: str) -> Any | None:
    """The run a trial attempt created (found by its attempt tag), or None yet."""
    runs = client.search_runs(
        [experiment_id], filter_string=f"tags.`{TAG_ATTEMPT}` = '{attempt}'", max_results=1
    )
    return runs[0] if runs else None


def _stop_request(client: Client, experiment_id: str, run_id: str) -> str | None:
    """The stop tag the sweep set on ``run_id``, or None: a search that matches nothing
    until the tag exists, about half the cost of reading the whole run (its params, tags,
    metrics and dataset inputs) at every tick of every trial's watcher."""
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"attributes.run_id = '{run_id}' and tags.`{TAG_STOP}` != ''",
        max_results=1,
    )
    return str(runs[0].data.tags[TAG_STOP]) if runs else None


def _gone(proc: Any) -> bool:
    import psutil

    try:
        return bool(proc.status() == psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return True


def _kill_entry_point(run_id: str) -> None:
    """Terminate this process's descendants that MLflow started for ``run_id``.

    Never ``wait`` on them here: the entry point is our own child, and reaping it would
    steal its exit status from MLflow's ``Popen.wait`` (which then reads 0: success).
    """
    import psutil

    targets: list[psutil.Process] = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if child.environ().get("MLFLOW_RUN_ID") == run_id:
                targets.append(child)
    _terminate(targets)


def _terminate(targets: list[psutil.Process]) -> None:
    """SIGTERM each process, then SIGKILL what is left after 5 s (no ``wait``: see above)."""
    import psutil

    for proc in targets:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not all(_gone(p) for p in targets):
        time.sleep(0.1)
    for proc in targets:
        if not _gone(proc):
            with contextlib.suppress(psutil.Error):
                proc.kill()


class _Watcher(threading.Thread):
    """Beside a trial: learn its run id, and stop its entry point when the parent asks."""

    def __init__(self, uri: str, task: TrialTask) -> None:
        super().__init__(daemon=True, name=f"sweep-watch-{task.index}")
        self.uri = uri
        self.task = task
        self.run_id: str | None = None
        self.stop_reason: str | None = None
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(WATCH_INTERVAL_S):
            try:
                client = _client(self.uri)
                if self.run_id is None:
                    task = self.task
                    found = find_attempt_run(client, task.experiment_id, task.attempt)
                    self.run_id = None if found is None else str(found.info.run_id)
                    continue
                reason = _stop_request(client, self.task.experiment_id, self.run_id)
            except Exception as exc:  # a store hiccup: try again at the next tick
                print(f"mlharness sweep: watcher: {type(exc).__name__}: {exc}", file=sys.stderr)
                continue
            if reason:
                self.stop_reason = reason
                print(f"mlharness sweep: stopping trial ({reason})", file=sys.stderr, flush=True)
                _kill_entry_point(self.run_id)
                return

    def finish(self) -> None:
        self._done.set()
        self.join(timeout=10)


def _client(uri: str) -> Client:
    """This worker's client for ``uri`` (opened once: a sqlalchemy store's schema check
    costs about a second, and a worker runs many trials)."""
    from harness.store import mlflow_boundary

    with _CLIENTS_LOCK:
        if uri not in _CLIENTS:
            _CLIENTS[uri] = mlflow_boundary.client(uri)
        return _CLIENTS[uri]


def _retire_orphans(client: Client, task: TrialTask) -> None:
    """Mark earlier attempts at this trial still RUNNING as KILLED: their worker died
    (a Dask retry, or a resumed sweep), so one trial never leaves two live runs."""
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    runs = client.search_runs(
        [task.experiment_id],
        filter_string=(
            f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{task.parent_run_id}' and "
            f"tags.`{TAG_TRIAL}` = '{task.index}' and attributes.status = 'RUNNING'"
        ),
    )
    for run in runs:
        client.set_terminated(run.info.run_id, "KILLED")


def _last_output_line(path: str) -> str | None:
    """The entry point's last line of output (not one of MLflow's log lines): usually the
    error a failed trial died with."""
    try:
        lines = Path(path).read_text(errors="replace").splitlines()[-200:]
    except OSError:
        return None
    for line in reversed(lines):
        text = line.strip()
        if text and not _MLFLOW_LOG_LINE.match(text) and not text.startswith("mlharness:"):
            return text[:300]
    return None


def _metrics_of(client: Client, run_id: str) -> dict[str, float]:
    return {str(k): float(v) for k, v in client.get_run(run_id).data.metrics.items()}


def run_trial(task: TrialTask) -> TrialRecord:
    """Run one trial through the run operation; never raises for a failed trial.

    A trial process must not inherit ``MLFLOW_RUN_ID`` (it would override the parent id
    and resume somebody else's run), so it is removed first.
    """
    os.environ.pop("MLFLOW_RUN_ID", None)
    _ACTIVE.set()
    started = time.monotonic()
    try:
        with _output_to(task.log_path):
            return _run_trial(task, started)
    finally:
        _ACTIVE.clear()


def _run_trial(task: TrialTask, started: float) -> TrialRecord:
    from harness.run.operations import RunRequest, run
    from harness.store import mlflow_boundary

    uri = mlflow_boundary.connect(task.tracking_uri)
    if task.retire_orphans:
        with mlflow_boundary.converted(uri, "prepare the trial"):
            _retire_orphans(_client(uri), task)
    watcher = _Watcher(uri, task)
    watcher.start()
    status: TrialStatus = "FINISHED"
    error: str | None = None
    run_id: str | None = None
    cached = False
    metrics: dict[str, float] = {}
    request = RunRequest(
        task.project,
        task.entry_point,
        dict(task.params),
        env_manager=task.env_manager,
        experiment_name=task.experiment_name,
        run_name=f"trial-{task.index}",
        tracking_uri=uri,
        version=task.version,
        force=task.force,
        parent_run_id=task.parent_run_id,
        tags={TAG_TRIAL: str(task.index), TAG_ATTEMPT: task.attempt, **task.extra},
    )
    run_started = time.monotonic()
    try:
        result = run(request)
        run_id, cached = result.run_id, result.cached
        metrics = result.metrics
    except KeyboardInterrupt:
        status, error = "KILLED", "interrupted"
    except MlharnessError as exc:
        status, error = "FAILED", exc.message
        last = _last_output_line(task.log_path)
        if last:
            error = f"{error}: {last}"
    except Exception as exc:  # a bug in one trial must not take the sweep down
        status, error = "FAILED", f"internal error: {type(exc).__name__}: {exc}"
    finally:
        run_s = round(time.monotonic() - run_started, 3)
        watcher.finish()
    try:
        client = _client(uri)
        if run_id is None:
            found = find_attempt_run(client, task.experiment_id, task.attempt)
            run_id = None if found is None else str(found.info.run_id)
        if run_id is not None and status != "FINISHED":
            status = _settle(client, run_id, status, watcher.stop_reason)
        if run_id is not None and not metrics:
            metrics = _metrics_of(client, run_id)
    except Exception as exc:
        error = error or f"cannot read the trial's run back: {exc}"
        status = "FAILED" if status == "FINISHED" else status
    if status == "PRUNED":
        error = None
    elif status == "KILLED" and watcher.stop_reason:
        error = f"stopped ({watcher.stop_reason})"
    return TrialRecord(
        index=task.index,
        params=dict(task.params),
        status=status,
        run_id=run_id,
        cached=cached,
        metrics=metrics,
        error=error,
        wall_s=round(time.monotonic() - started, 3),
        run_s=run_s,
        log=task.log_path,
    )


def _settle(client: Client, run_id: str, status: TrialStatus, stop: str | None) -> TrialStatus:
    """The final status of a trial that did not finish, made true in the store."""
    if stop == "pruned":
        client.set_terminated(run_id, "KILLED")
        client.set_tag(run_id, TAG_PRUNED, "true")
        return "PRUNED"
    if stop or status == "KILLED":
        client.set_terminated(run_id, "KILLED")
        return "KILLED"
    stored = client.get_run(run_id).info.status
    if stored == "RUNNING":
        client.set_terminated(run_id, "FAILED")
    return "KILLED" if stored == "KILLED" else "FAILED"


def _on_sigint(signum: int, frame: object) -> None:
    """Ctrl-C in a pool worker: interrupt a running trial; an idle worker ignores it (the
    sweep shuts the pool down itself)."""
    if _ACTIVE.is_set():
        raise KeyboardInterrupt


def _warm() -> None:
    """A no-op task: makes the pool start a worker process."""


def _worker_init(sweep_pid: int | None = None) -> None:
    os.environ.pop("MLFLOW_RUN_ID", None)
    signal.signal(signal.SIGINT, _on_sigint)
    if sweep_pid is not None:
        threading.Thread(
            target=_exit_with_the_sweep, args=(sweep_pid,), name="sweep-watch", daemon=True
        ).start()


def _exit_with_the_sweep(sweep_pid: int) -> None:
    """End this worker, and the entry point it runs, once the sweep process is gone.

    A pool worker is a child of the forkserver, not of the sweep, and holds both ends of
    its task queue and of the forkserver's liveness pipe: a sweep killed without its
    clean-up (SIGKILL, the OOM killer) would otherwise leave its workers and forkserver
    (~200 MiB each, MLflow imported) waiting forever. psutil waits on a pidfd where Linux
    has them and polls the pid elsewhere.
    """
    import psutil

    with contextlib.suppress(psutil.NoSuchProcess):  # gone already
        psutil.Process(sweep_pid).wait()
    with contextlib.suppress(Exception):
        _terminate(psutil.Process().children(recursive=True))
    os._exit(1)


class TrialPool:
    """An executor for trials: ``submit`` a task, get a ``concurrent.futures.Future``."""

    capacity: int = 1

    def submit(self, task: TrialTask) -> Future[TrialRecord]:
        raise NotImplementedError

    def shutdown(self) -> None:
        raise NotImplementedError


_SQL_SCHEMES = {"sqlite", "postgresql", "mysql", "mssql"}


def _store_preload(tracking_uri: str | None) -> list[str]:
    """MLflow's SQL store module when the trials' store is a database (the option, else
    ``MLFLOW_TRACKING_URI``, else MLflow's default sqlite ``mlflow.db``): importing it
    (sqlalchemy, alembic, MLflow's ORM models) costs ~2 s of CPU, which every worker paid
    again on its first trial; preloaded, the forkserver pays it once for all of them."""
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or "sqlite:///mlflow.db"
    scheme = uri.partition(":")[0].partition("+")[0].lower() if "://" in uri else ""
    return ["mlflow.store.tracking.sqlalchemy_store"] if scheme in _SQL_SCHEMES else []


class LocalPool(TrialPool):
    """``--jobs N`` worker processes on this machine (forkserver: mlflow imported once)."""

    def __init__(self, jobs: int, tracking_uri: str | None = None) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(
            [
                "harness.sweep.executors",
                "harness.run.operations",
                "mlflow",
                "mlflow.projects",
                *_store_preload(tracking_uri),
            ]
        )
        self.capacity = jobs
        self._executor: Executor = ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=context,
            initializer=_worker_init,
            initargs=(os.getpid(),),
        )

    def submit(self, task: TrialTask) -> Future[TrialRecord]:
        return self._executor.submit(run_trial, task)

    def warm(self) -> None:
        """Start every worker now: their start overlaps the sweep's own validation."""
        for _ in range(self.capacity):
            self._executor.submit(_warm)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class DaskPool(TrialPool):
    """Trials on a Dask distributed cluster, each task retried by Dask when it fails."""

    def __init__(self, address: str, retries: int, jobs: int | None) -> None:
        from distributed import Client

        try:
            self._client = Client(address, timeout="20s", set_as_default=False)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            raise ExternalServiceError(
                f"cannot reach the Dask scheduler at {address}: {exc}",
                hint="is `dask scheduler` running there? check --cluster",
            ) from exc
        threads = sum(self._client.nthreads().values())  # type: ignore[no-untyped-call]
        self.capacity = jobs or max(threads, 1)
        self._executor = self._client.get_executor(retries=retries, pure=False)  # type: ignore[no-untyped-call]

    def submit(self, task: TrialTask) -> Future[TrialRecord]:
        future: Future[TrialRecord] = self._executor.submit(run_trial, task)
        return future

    def shutdown(self) -> None:
        with contextlib.suppress(Exception):
            self._executor.shutdown(wait=False)
        with contextlib.suppress(Exception):
            self._client.close(timeout=10)  # type: ignore[no-untyped-call]
