"""The sweep operation: validate a sweep, run its trials in parallel under one parent run,
and return a typed :class:`SweepResult`.

Order of work, so bad input leaves nothing behind: parse the space and validate every
trial's parameters against the MLproject (all problems at once, exit 2), connect the
executor, and only then create the parent run. Trials go to the executor at most
``capacity`` at a time; each outcome is tagged on the parent as it arrives, so a sweep
killed at any moment can be resumed from the store alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from harness.kernel.errors import ConfigError, MlharnessError, SpecError
from harness.sweep.definition import (
    ARTIFACT,
    TAG_BEST_RUN,
    TAG_BEST_TRIAL,
    TAG_BEST_VALUE,
    TAG_DEFINITION,
    TAG_STATE,
    TAG_STOP,
    TAG_TRIAL,
    Mode,
    SweepDefinition,
    TrialRecord,
    trial_tag,
)
from harness.sweep.executors import (
    DaskPool,
    LocalPool,
    TrialPool,
    TrialTask,
    find_attempt_run,
)
from harness.sweep.space import Space, Strategy, parse_space

if TYPE_CHECKING:
    import optuna

    from harness.store.mlflow_boundary import Client

__all__ = ["SweepProgress", "SweepRequest", "SweepResult", "sweep"]

POLL_S = 0.5
STOP_GRACE_S = 90.0
DASK_RETRIES = 2
State = Literal["planned", "finished", "interrupted", "stopped"]


@dataclass(frozen=True)
class SweepRequest:
    """A new sweep (project, ``-P`` specs, strategy...) or ``resume`` of a stored one."""

    project: str | None = None
    params: Sequence[tuple[str, str]] = ()
    entry_point: str = "main"
    strategy: Strategy = "grid"
    trials: int | None = None
    seed: int | None = None
    metric: str | None = None
    mode: Mode = "max"
    env_manager: str | None = None
    experiment_name: str | None = None
    version: str | None = None
    tracking_uri: str | None = None
    run_name: str | None = None
    jobs: int | None = None
    cluster: str | None = None
    fail_fast: bool = False
    force: bool = False
    dry_run: bool = False
    resume: str | None = None
    log_dir: str | None = None


@dataclass(frozen=True)
class SweepProgress:
    """Counts after a trial started or ended (what a progress bar shows)."""

    total: int
    done: int
    cached: int
    failed: int
    pruned: int
    running: int
    parent_run_id: str | None
    ended: TrialRecord | None = None


@dataclass(frozen=True)
class SweepResult:
    """Every trial of a sweep, the best one, and how the sweep ended."""

    definition: SweepDefinition
    state: State
    trials: list[TrialRecord]
    parent_run_id: str | None = None
    experiment_id: str | None = None
    best: TrialRecord | None = None
    plan: list[dict[str, str]] | None = None
    wall_s: float = 0.0
    log_dir: str | None = None
    resumed: bool = False
    stop_reason: str | None = None
    # Answered whole by the sweep memo: the earlier identical sweep, every trial cached.
    from_memo: bool = False
    # Said beside the summary: e.g. a resumed sweep's Optuna differs from the recorded one.
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        statuses = [t.status for t in self.trials]
        return {
            "total": self.definition.trials,
            "finished": statuses.count("FINISHED"),
            "cached": sum(t.cached for t in self.trials),
            "failed": statuses.count("FAILED"),
            "pruned": statuses.count("PRUNED"),
            "killed": statuses.count("KILLED"),
        }

    @property
    def any_failed(self) -> bool:
        return any(t.status == "FAILED" for t in self.trials)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form: definition, trials, best, counts."""
        return {
            "parent_run_id": self.parent_run_id,
            "experiment_id": self.experiment_id,
            "state": self.state,
            "resumed": self.resumed,
            "from_memo": self.from_memo,
            "notes": self.notes,
            "stop_reason": self.stop_reason,
            "definition": dataclasses.asdict(self.definition),
            "counts": self.counts,
            "best": self.best.to_dict() if self.best else None,
            "trials": [t.to_dict() for t in self.trials],
            "plan": self.plan,
            "wall_s": round(self.wall_s, 3),
            "log_dir": self.log_dir,
        }


def _param_sets(definition: SweepDefinition, space: Space) -> list[dict[str, str]] | None:
    """The trials' parameters for a grid or a random search (None: Optuna asks)."""
    if definition.strategy == "grid":
        return space.grid()
    if definition.strategy == "random":
        return space.sample(definition.trials, definition.seed)
    return None


def _local_project(project: str) -> str:
    """A local project path made absolute (workers and resumes run elsewhere); URLs kept."""
    from harness.run.source import parse_remote

    if parse_remote(project) is not None:
        return project
    base, sep, subdir = project.partition("#")
    return os.path.abspath(os.path.expanduser(base)) + (sep + subdir if sep else "")


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _validate_params(
    request: SweepRequest, space: Space, sets: list[dict[str, str]] | None
) -> list[str]:
    """Every parameter problem of every trial, checked against the MLproject."""
    from harness.run import source, spec

    assert request.project is not None
    problems: list[str] = []
    try:
        with source.checkout(request.project, request.version) as resolved:
            for params in sets if sets is not None else space.probe_sets():
                try:
                    spec.build_run_spec(
                        resolved.project_dir,
                        request.entry_point,
                        params,
                        env_manager=request.env_manager,
                    )
                except SpecError as exc:
                    return [exc.one_line()]
                except MlharnessError as exc:
                    problems.extend(getattr(exc, "problems", None) or [exc.one_line()])
    except MlharnessError as exc:
        problems.append(exc.one_line())
    return problems


def _cluster_problem(cluster: str, tracking_uri: str | None) -> str | None:
    from harness.store.mlflow_boundary import resolve_uri

    uri = resolve_uri(tracking_uri)
    scheme = urlparse(uri).scheme
    if scheme in {"", "file", "sqlite"} or (len(scheme) == 1 and uri[1:2] == ":"):
        return (
            f"--cluster {cluster}: the tracking store {uri} is local to this machine and the "
            "workers cannot share it; give --tracking-uri http://HOST:PORT (an mlflow server)"
        )
    return None


def _draft(request: SweepRequest) -> tuple[SweepDefinition, Space, list[str]]:
    """The definition of a new sweep and the problems found without reading the project."""
    problems: list[str] = []
    strategy = request.strategy
    if request.project is None:
        problems.append("a PROJECT is needed (or --resume PARENT_RUN_ID)")
    space, found = parse_space(list(request.params), strategy)
    problems.extend(found)
    if strategy != "grid" and (request.trials is None or request.trials < 1):
        flag = "--random N" if strategy == "random" else "--optimize --trials N"
        problems.append(f"{flag}: N must be at least 1")
    if strategy == "optimize" and not request.metric:
        problems.append("--optimize needs --metric NAME (and --mode max|min)")
    if request.jobs is not None and request.jobs < 1:
        problems.append(f"--jobs {request.jobs}: must be at least 1")
    if request.cluster:
        problem = _cluster_problem(request.cluster, request.tracking_uri)
        if problem:
            problems.append(problem)
    seed = request.seed
    if seed is None:  # a grid needs none; a random search stores the one it drew
        seed = 0 if strategy == "grid" else random.SystemRandom().randrange(2**31)
    count = len(space.grid()) if strategy == "grid" else max(request.trials or 0, 0)
    definition = SweepDefinition(
        project=_local_project(request.project or ""),
        entry_point=request.entry_point,
        space=space.specs() if not found else list(request.params),
        strategy=strategy,
        trials=count,
        seed=seed,
        metric=request.metric,
        mode=request.mode,
        env_manager=request.env_manager,
        experiment_name=request.experiment_name,
        version=request.version,
        jobs=request.jobs or 1,
        cluster=request.cluster,
        fail_fast=request.fail_fast,
        force=request.force,
        sampler=_sampler_record(seed) if strategy == "optimize" else None,
    )
    return definition, space, problems


def _sampler_record(seed: int) -> dict[str, Any]:
    from harness.sweep.optimize import sampler_record

    return sampler_record(seed)


def _define(
    request: SweepRequest, drafted: tuple[SweepDefinition, Space, list[str]]
) -> tuple[SweepDefinition, Space]:
    """Check a new sweep completely before anything is written; all problems at once."""
    definition, space, problems = drafted
    if request.project is not None and space.dimensions:
        checked = dataclasses.replace(request, project=definition.project)
        problems.extend(_validate_params(checked, space, _param_sets(definition, space)))
    problems = _dedupe(problems)
    if problems:
        raise ConfigError("mlharness sweep", problems)
    return definition, space


@dataclass
class _Running:
    index: int
    task: TrialTask
    submitted: float
    optuna_trial: optuna.Trial | None = None
    run_id: str | None = None
    stop_sent: bool = False


@dataclass
class _Sweep:
    """One execution of a sweep's remaining trials (new or resumed)."""

    definition: SweepDefinition
    space: Space
    client: Client
    uri: str
    parent_run_id: str
    experiment_id: str
    pools: _Pools
    log_dir: Path
    records: dict[int, TrialRecord]
    on_progress: Callable[[SweepProgress], None] | None
    running: dict[Future[TrialRecord], _Running] = field(default_factory=dict)
    stopping: str | None = None
    metric_error: str | None = None
    interrupted: bool = False

    def __post_init__(self) -> None:
        self.sets = _param_sets(self.definition, self.space)
        self.todo = deque(i for i in range(self.definition.trials) if i not in self.records)
        self.optimizer = None
        if self.definition.strategy == "optimize":
            from harness.sweep.optimize import Optimizer

            self.optimizer = Optimizer(
                self.space, self.definition.seed, self.definition.mode, self.definition.sampler
            )
            for record in self.records.values():
                self.optimizer.add_finished(record, self._value(record))
        self.metric_seen = any(self.definition.metric in r.metrics for r in self.records.values())

    def _value(self, record: TrialRecord) -> float | None:
        metric = self.definition.metric
        return record.metrics.get(metric) if metric else None

    def _progress(self, ended: TrialRecord | None = None) -> None:
        if self.on_progress is None:
            return
        done = list(self.records.values())
        self.on_progress(
            SweepProgress(
                total=self.definition.trials,
                done=len(done),
                cached=sum(r.cached for r in done),
                failed=sum(r.status == "FAILED" for r in done),
                pruned=sum(r.status == "PRUNED" for r in done),
                running=len(self.running),
                parent_run_id=self.parent_run_id,
                ended=ended,
            )
        )

    def _submit(self, index: int) -> None:
        trial = None
        if self.optimizer is not None:
            trial, params = self.optimizer.ask()
        else:
            assert self.sets is not None
            params = self.sets[index]
        d = self.definition
        task = TrialTask(
            index=index,
            attempt=uuid.uuid4().hex,
            params=params,
            project=d.project,
            entry_point=d.entry_point,
            tracking_uri=self.uri,
            experiment_id=self.experiment_id,
            parent_run_id=self.parent_run_id,
            log_path=str(self.log_dir / f"trial-{index:04d}.log"),
            env_manager=d.env_manager,
            experiment_name=d.experiment_name,
            version=d.version,
            force=d.force,
            retire_orphans=bool(d.cluster),
        )
        submitted = time.monotonic()
        hit = None if d.force else _memo_hit(task)
        if hit is not None:
            record = TrialRecord(
                index,
                params,
                "FINISHED",
                run_id=hit,
                cached=True,
                metrics={
                    str(k): float(v) for k, v in self.client.get_run(hit).data.metrics.items()
                },
                run_s=0.0,
            )
            future: Future[TrialRecord] = Future()
            future.set_result(record)
        else:
            future = self.pools.get().submit(task)
        self.running[future] = _Running(index, task, submitted, trial)
        self._progress()

    def _finish(self, future: Future[TrialRecord]) -> None:
        item = self.running.pop(future)
        try:
            record = future.result()
        except Exception as exc:  # the executor lost the trial (e.g. Dask KilledWorker)
            record = TrialRecord(
                item.index,
                item.task.params,
                "FAILED",
                error=f"trial lost by the executor: {type(exc).__name__}: {exc}"[:500],
            )
        elapsed = round(time.monotonic() - item.submitted, 3)
        record = dataclasses.replace(record, value=self._value(record), elapsed_s=elapsed)
        metric = self.definition.metric
        if (
            metric
            and record.status == "FINISHED"
            and not self.metric_seen
            and metric not in record.metrics
        ):
            logged = ", ".join(sorted(record.metrics)) or "none"
            self.metric_error = (
                f"--metric {metric!r}: trial {record.index} finished without logging it "
                f"(it logged: {logged})"
            )
            self._stop("metric")
        elif metric and metric in record.metrics:
            self.metric_seen = True
        if self.optimizer is not None and item.optuna_trial is not None:
            self.optimizer.tell(item.optuna_trial, record, record.value)
        self.records[record.index] = record
        self.client.set_tag(self.parent_run_id, trial_tag(record.index), record.to_tag())
        if record.status == "FAILED" and self.definition.fail_fast:
            self._stop("fail-fast")
        self._progress(record)

    def _run_id(self, item: _Running) -> str | None:
        if item.run_id is None:
            found = find_attempt_run(self.client, self.experiment_id, item.task.attempt)
            item.run_id = None if found is None else str(found.info.run_id)
        return item.run_id

    def _stop(self, reason: str) -> None:
        self.stopping = self.stopping or reason
        self.todo.clear()
        self._send_stops()

    def _send_stops(self) -> None:
        for item in self.running.values():
            if not item.stop_sent and self._run_id(item) is not None:
                assert item.run_id is not None
                self.client.set_tag(item.run_id, TAG_STOP, "killed")
                item.stop_sent = True

    def _prune(self) -> None:
        metric = self.definition.metric
        if self.optimizer is None or metric is None:
            return
        for item in self.running.values():
            if item.stop_sent or item.optuna_trial is None or self._run_id(item) is None:
                continue
            assert item.run_id is not None
            history = [
                (int(m.step), float(m.value))
                for m in self.client.get_metric_history(item.run_id, metric)
            ]
            if self.optimizer.report(item.optuna_trial, history):
                self.client.set_tag(item.run_id, TAG_STOP, "pruned")
                item.stop_sent = True

    def _loop(self) -> None:
        while True:
            while not self.stopping and self.todo and len(self.running) < self.pools.capacity:
                self._submit(self.todo.popleft())
            if not self.running:
                return
            done, _ = wait(list(self.running), timeout=POLL_S, return_when=FIRST_COMPLETED)
            for future in done:
                self._finish(future)
            if self.stopping:
                self._send_stops()
            else:
                self._prune()

    def _drain(self) -> None:
        """After Ctrl-C: stop every running trial and collect what they report."""
        deadline = time.monotonic() + STOP_GRACE_S
        try:
            self._stop("interrupted")
            while self.running and time.monotonic() < deadline:
                done, _ = wait(list(self.running), timeout=POLL_S, return_when=FIRST_COMPLETED)
                for future in done:
                    self._finish(future)
                self._send_stops()
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: leave the rest to the cleanup below

    def execute(self) -> None:
        self._progress()
        try:
            self._loop()
        except KeyboardInterrupt:
            self.interrupted = True
            self._drain()

    def retire_children(self) -> None:
        """Children still RUNNING after the sweep ended: their trial is over, mark KILLED."""
        from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=(
                f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{self.parent_run_id}' "
                "and attributes.status = 'RUNNING'"
            ),
        )
        for run in runs:
            self.client.set_terminated(run.info.run_id, "KILLED")

    def best(self) -> TrialRecord | None:
        return self.rank(list(self.records.values()), self.definition)

    @staticmethod
    def rank(records: list[TrialRecord], definition: SweepDefinition) -> TrialRecord | None:
        """The best FINISHED trial by ``--metric`` (the lowest index breaks a tie)."""
        metric = definition.metric
        scored = [
            dataclasses.replace(r, value=r.metrics.get(metric) if metric else None)
            for r in records
            if r.status == "FINISHED"
        ]
        scored = [r for r in scored if r.value is not None]
        if not scored:
            return None
        sign = 1.0 if definition.mode == "max" else -1.0
        return max(scored, key=lambda r: (sign * float(r.value or 0.0), -r.index))


def _create_parent(
    client: Client, definition: SweepDefinition, experiment_id: str, run_name: str | None
) -> str:
    import getpass
    import json

    from mlflow.entities import Param
    from mlflow.utils.mlflow_tags import MLFLOW_SOURCE_NAME, MLFLOW_USER

    name = run_name or f"sweep-{Path(definition.project.split('#')[0]).name}"
    tags = {
        TAG_DEFINITION: definition.to_json(),
        TAG_STATE: "running",
        MLFLOW_SOURCE_NAME: definition.project,
        MLFLOW_USER: getpass.getuser(),
        "mlharness.sweep.strategy": definition.strategy,
    }
    if definition.metric:
        tags["mlharness.sweep.metric"] = definition.metric
    run = client.create_run(experiment_id, tags=tags, run_name=name)
    run_id = str(run.info.run_id)
    params = [Param(n, s[:6000]) for n, s in dict(definition.space).items()]
    if params:
        client.log_batch(run_id, params=params[:100])

    client.log_text(run_id, json.dumps(dataclasses.asdict(definition), indent=2), ARTIFACT)
    return run_id


def _reopen(client: Client, run_id: str) -> tuple[SweepDefinition, str, dict[int, TrialRecord]]:
    """The stored definition and the finished trials of a sweep to resume."""
    run = client.get_run(run_id)
    text = run.data.tags.get(TAG_DEFINITION)
    if text is None:
        raise ConfigError(
            "--resume", [f"run {run_id} is not a sweep (it has no {TAG_DEFINITION} tag)"]
        )
    definition = SweepDefinition.from_tag(text, run_id=run_id)
    stored = TrialRecord.all_from_tags(dict(run.data.tags), run_id=run_id)
    records = {i: r for i, r in stored.items() if r.done}
    return definition, str(run.info.experiment_id), records


def _adopt_children(client: Client, sweep_state: _Sweep, names: list[str]) -> None:
    """Finished children the interrupted sweep had no time to record become its trials."""
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    runs = client.search_runs(
        [sweep_state.experiment_id],
        filter_string=(
            f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{sweep_state.parent_run_id}' "
            "and attributes.status = 'FINISHED'"
        ),
    )
    for run in runs:
        index_text = run.data.tags.get(TAG_TRIAL, "")
        if not index_text.isdigit() or int(index_text) in sweep_state.records:
            continue
        index = int(index_text)
        if index >= sweep_state.definition.trials:
            continue
        record = TrialRecord(
            index,
            {n: str(run.data.params[n]) for n in names if n in run.data.params},
            "FINISHED",
            run_id=str(run.info.run_id),
            metrics={str(k): float(v) for k, v in run.data.metrics.items()},
        )
        record = dataclasses.replace(record, value=sweep_state._value(record))
        sweep_state.records[index] = record
        client.set_tag(sweep_state.parent_run_id, trial_tag(index), record.to_tag())
        if sweep_state.optimizer is not None:
            sweep_state.optimizer.add_finished(record, record.value)
        if index in sweep_state.todo:
            sweep_state.todo.remove(index)


def _metrics(client: Client, run_id: str) -> dict[str, float]:
    return {str(k): float(v) for k, v in client.get_run(run_id).data.metrics.items()}


def _memo_hit(task: TrialTask) -> str | None:
    """The run cache's answer for a trial from the run operation's hit memo (no process,
    no mlflow), or None: then the trial goes to a worker, where the run operation decides."""
    from harness.run import run_memo as hit_memo

    probe = hit_memo.probe(
        hit_memo.Request(
            task.project,
            task.entry_point,
            dict(task.params),
            task.env_manager,
            task.experiment_name,
            task.tracking_uri,
            version=task.version,
        )
    )
    hit = hit_memo.answer(probe) if probe is not None else None
    return None if hit is None else hit.run_id


class _Pools:
    """The executor, started on the first trial that is not answered from the cache (a
    cluster is connected up front: an unreachable one must fail before the parent exists)."""

    def __init__(
        self, definition: SweepDefinition, jobs: int | None, tracking_uri: str | None
    ) -> None:
        self._pool: TrialPool | None = None
        self._jobs = jobs or definition.jobs
        self._tracking_uri = tracking_uri
        self.capacity = self._jobs
        if definition.cluster:
            self._pool = DaskPool(definition.cluster, DASK_RETRIES, jobs)
            self.capacity = self._pool.capacity

    def get(self) -> TrialPool:
        if self._pool is None:
            self._pool = LocalPool(self._jobs, self._tracking_uri)
        return self._pool

    def warm(self) -> None:
        """Start the local workers now (not at the first trial) and let them load."""
        pool = self.get()
        if isinstance(pool, LocalPool):
            pool.warm()

    def warm_beside(self) -> Future[None]:
        """:meth:`warm` in a thread of its own, so that this process validates meanwhile.

        Starting a worker blocks until the forkserver has imported MLflow and answers with
        the worker's pid (seconds); called inline, the sweep's own validation (which imports
        MLflow too) only began after it, on an idle second core."""
        warming: Future[None] = Future()

        def target() -> None:
            try:
                self.warm()
                warming.set_result(None)
            except BaseException as exc:  # handed to the sweep, which raises it
                warming.set_exception(exc)

        threading.Thread(target=target, name="sweep-warm", daemon=True).start()
        return warming

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()


def sweep(
    request: SweepRequest, on_progress: Callable[[SweepProgress], None] | None = None
) -> SweepResult:
    """Run (or resume, or plan with ``dry_run``) a sweep; returns every trial's outcome.

    Raises ``ConfigError`` (exit 2) for bad input before anything is written, and
    ``SpecError`` (exit 2) when the first finished trial did not log ``--metric``.
    """
    from harness.store import mlflow_boundary
    from harness.store.tracking import Tracking

    clock = time.monotonic()
    records: dict[int, TrialRecord] = {}
    pools: _Pools | None = None
    warming: Future[None] | None = None
    try:
        if request.resume:
            uri = mlflow_boundary.connect(request.tracking_uri)
            client = mlflow_boundary.client(uri)
            with mlflow_boundary.converted(uri, f"read run {request.resume}"):
                definition, experiment_id, records = _reopen(client, request.resume)
            space, problems = parse_space(definition.space, definition.strategy)
            if problems:
                raise ConfigError("--resume", problems)
            parent_run_id: str | None = request.resume
        else:
            drafted = _draft(request)
            if not drafted[2] and not request.dry_run:
                cached = _memo_answer(drafted[0], drafted[1], request.tracking_uri, clock)
                if cached is not None:
                    return cached
                if not request.cluster:
                    # Start the workers while this process validates (both import mlflow).
                    pools = _Pools(drafted[0], request.jobs, request.tracking_uri)
                    warming = pools.warm_beside()
            definition, space = _define(request, drafted)
            parent_run_id = None
        if request.dry_run:
            sets = _param_sets(definition, space)
            return SweepResult(definition, "planned", [], parent_run_id, plan=sets)
        uri = mlflow_boundary.connect(request.tracking_uri)
        client = mlflow_boundary.client(uri)  # a new sqlite store: a copy, in milliseconds
        if pools is None:
            pools = _Pools(definition, request.jobs, request.tracking_uri)
        with mlflow_boundary.converted(uri, "start the sweep"):
            if parent_run_id is None:
                store = Tracking(uri, client=client)
                experiment_id = store.experiment_id(definition.experiment_name)
                parent_run_id = _create_parent(client, definition, experiment_id, request.run_name)
            else:
                client.update_run(parent_run_id, status="RUNNING")
                client.set_tag(parent_run_id, TAG_STATE, "running")
        if warming is not None:  # the workers' start failed: say so before any trial
            warming.result()
        base = Path(request.log_dir) if request.log_dir else Path.cwd() / ".mlharness" / "sweeps"
        log_dir = base.resolve() / parent_run_id
        state = _Sweep(
            definition,
            space,
            client,
            uri,
            parent_run_id,
            experiment_id,
            pools,
            log_dir,
            records,
            on_progress,
        )
        with mlflow_boundary.converted(uri, "run the sweep"):
            if request.resume:
                state.retire_children()
                _adopt_children(client, state, space.names)
            state.execute()
    finally:
        if warming is not None:  # refused or interrupted while the workers started
            with contextlib.suppress(BaseException):
                warming.result()
        if pools is not None:
            pools.shutdown()
    with mlflow_boundary.converted(uri, "record the sweep"):
        return _conclude(state, clock, bool(request.resume))


def _memo_answer(
    definition: SweepDefinition, space: Space, tracking_uri: str | None, clock: float
) -> SweepResult | None:
    """A finished identical sweep, confirmed trial by trial by the hit memo (no mlflow)."""
    from harness.sweep import sweep_memo as memo

    sets = _param_sets(definition, space)
    found = memo.answer(definition, tracking_uri, sets) if sets is not None else None
    if found is None:
        return None
    parent, trials = found
    for_best = _Sweep.rank(trials, definition)
    return SweepResult(
        definition,
        "finished",
        trials,
        parent,
        best=for_best,
        wall_s=time.monotonic() - clock,
        from_memo=True,
    )


def _conclude(state: _Sweep, clock: float, resumed: bool) -> SweepResult:
    client, parent = state.client, state.parent_run_id
    state.retire_children()
    best = state.best()
    metric = state.definition.metric
    if best is not None and metric and best.value is not None:
        client.set_tag(parent, TAG_BEST_RUN, str(best.run_id))
        client.set_tag(parent, TAG_BEST_TRIAL, str(best.index))
        client.set_tag(parent, TAG_BEST_VALUE, repr(best.value))
        client.log_metric(parent, metric, best.value)
    if state.interrupted:
        outcome: State = "interrupted"
        status = "KILLED"
    elif state.stopping:
        outcome, status = "stopped", "FAILED"
    else:
        outcome, status = "finished", "FINISHED"
    client.set_tag(parent, TAG_STATE, outcome)
    client.set_terminated(parent, status)
    if state.metric_error:
        raise SpecError(state.metric_error, hint=f"sweep {parent} stopped")
    trials = [state.records[i] for i in sorted(state.records)]
    if outcome == "finished":
        from harness.sweep import sweep_memo as memo

        memo.remember(state.definition, state.uri, parent, trials)
    return SweepResult(
        state.definition,
        outcome,
        trials,
        parent,
        state.experiment_id,
        best=best,
        wall_s=time.monotonic() - clock,
        log_dir=str(state.log_dir),
        resumed=resumed,
        stop_reason=state.stopping if outcome == "stopped" else None,
        notes=_resume_notes(state.definition) if resumed else [],
    )


def _resume_notes(definition: SweepDefinition) -> list[str]:
    """A note when the installed Optuna is not the one that recorded the sampler."""
    if definition.sampler is None:
        return []
    from harness.sweep.optimize import version_note

    note = version_note(definition.sampler)
    return [note] if note else []
