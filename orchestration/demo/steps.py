"""The steps of ``make demo``: each one a typed function that calls the same operations the
CLI calls and returns a :class:`StepResult`; nothing here prints (``orchestration.demo``
renders the results).

A step that needs a piece the tree does not have yet (an operation not landed) is reported
as ``skipped`` with the reason, never faked; so is a step that needs what an earlier step
did not produce (no best trial, no champion). Every process a step starts goes through the
context's :class:`~orchestration.processes.Supervisor`, so it is stopped however the demo
ends.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness.kernel.atomic import write_text_atomic
from harness.kernel.errors import ExternalServiceError, MlharnessError
from orchestration.processes import Supervisor, free_port, wait_http_ok

__all__ = [
    "STEPS",
    "STEP_TITLES",
    "DemoContext",
    "DemoState",
    "Step",
    "StepResult",
    "Table",
    "all_succeeded",
    "pipeline_settings",
    "run_step",
    "write_summary",
]

Status = Literal["ok", "failed", "skipped"]

REPO = Path(__file__).resolve().parents[2]
# Used when examples/rf-pipeline.yaml is absent; otherwise its model and promotion sections.
MODEL = "rf"
ALIAS = "champion"
GATES = ("accuracy>=0.9", "f1>=champion.f1")
GRID = {"n_estimators": "20,50", "max_depth": "3,5,none"}
PIPELINE = REPO / "examples" / "rf-pipeline.yaml"
SWEEP_METRIC = "f1"
SWEEP_COLUMNS = ("accuracy", "f1", "roc_auc")
SWEEP_EXPERIMENT = "demo-sweep"
SWEEP_JOBS = 2


@dataclass(frozen=True)
class Table:
    """A small table for the display: a title, column names and rows of text."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class StepResult:
    """What one step did: status, a one-line summary, facts, artifacts, tables, an excerpt."""

    key: str
    title: str
    status: Status
    summary: str
    seconds: float = 0.0
    # JSON-able facts (what summary.json holds and the test reads).
    details: Mapping[str, object] = field(default_factory=dict)
    artifacts: Mapping[str, str] = field(default_factory=dict)
    tables: tuple[Table, ...] = ()
    excerpt: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "title": self.title,
            "status": self.status,
            "summary": self.summary,
            "seconds": round(self.seconds, 2),
            "details": dict(self.details),
            "artifacts": dict(self.artifacts),
        }


@dataclass
class DemoState:
    """What a step hands to the steps after it."""

    best_run_id: str | None = None
    champion_version: str | None = None
    test_csv: Path | None = None
    drifted_csv: Path | None = None
    profile: Path | None = None


@dataclass
class DemoContext:
    """Where the demo writes, which store it uses, and the supervisor of its processes."""

    out: Path
    tracking_uri: str
    supervisor: Supervisor
    state: DemoState = field(default_factory=DemoState)
    python: Path = field(default_factory=lambda: Path(sys.executable))
    # The registered model, its alias and the promotion gates (from the pipeline config).
    model: str = MODEL
    alias: str = ALIAS
    gates: tuple[str, ...] = GATES
    # Told what a long step is doing right now (the display's status line).
    progress: Callable[[str], None] = field(default=lambda _text: None)

    @property
    def bin(self) -> Path:
        return self.python.parent

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a child process: this venv's bin first, the demo's store."""
        env = dict(os.environ)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["MLFLOW_TRACKING_URI"] = self.tracking_uri
        env.update(extra)
        return env

    def record_pids(self) -> None:
        """Write ``pids.json``: every process the supervisor started (the test checks that
        none outlives the demo)."""
        started = [{"name": e.name, "pid": e.process.pid} for e in self.supervisor.history]
        document = {"pids": [e["pid"] for e in started], "processes": started}
        write_text_atomic(self.out / "pids.json", json.dumps(document) + "\n")


Step = Callable[[DemoContext], StepResult]


def pipeline_settings() -> tuple[str, str, tuple[str, ...]]:
    """Model name, alias and gates of examples/rf-pipeline.yaml (the defaults without it):
    the demo promotes by the same gates the pipeline's DAG applies."""
    if not PIPELINE.exists():
        return MODEL, ALIAS, GATES
    from harness.schemas.pipeline_config import load

    config = load(PIPELINE)
    return config.model.name, config.promotion.alias, tuple(config.promotion.gates) or GATES


def _skipped(key: str, title: str, reason: str) -> StepResult:
    return StepResult(key, title, "skipped", reason)


def _have(module: str) -> bool:
    """True when ``module`` exists in this tree (an operation that has landed)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def run_step(step: Step, ctx: DemoContext) -> StepResult:
    """Run one step, timed; an mlharness error or a bug fails the step, not the demo."""
    key, title = STEP_TITLES[step.__name__]
    started = time.monotonic()
    try:
        result = step(ctx)
    except MlharnessError as exc:
        result = StepResult(key, title, "failed", f"failed: {exc}")
    except Exception as exc:  # a bug in a step: the later steps still run, exit code 1
        trace = ctx.supervisor.log_dir / f"{key}.traceback.txt"
        trace.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(trace, traceback.format_exc())
        result = StepResult(
            key, title, "failed", f"internal error: {type(exc).__name__}: {exc} (see {trace})"
        )
    ctx.record_pids()
    return dataclasses.replace(result, seconds=time.monotonic() - started)


def all_succeeded(results: Sequence[StepResult]) -> bool:
    """Every step ran (none left out by an interruption) and every one succeeded."""
    return len(results) == len(STEPS) and all(r.ok for r in results)


def write_summary(
    ctx: DemoContext, results: Sequence[StepResult], total_s: float, *, interrupted: bool
) -> Path:
    """``summary.json`` in the output folder: every step's result (the test reads it)."""
    document = {
        "tracking_uri": ctx.tracking_uri,
        "output": str(ctx.out),
        "ok": all_succeeded(results) and not interrupted,
        "interrupted": interrupted,
        "seconds": round(total_s, 2),
        "steps": [r.to_dict() for r in results],
    }
    path = ctx.out / "summary.json"
    write_text_atomic(path, json.dumps(document, indent=1) + "\n")
    return path


# -- 1. sweep ---------------------------------------------------------------------------------


def sweep(ctx: DemoContext) -> StepResult:
    """A grid sweep of projects/rf, two trials at a time; the best trial goes on."""
    key, title = STEP_TITLES["sweep"]
    if not _have("harness.sweep.operations"):
        return _skipped(key, title, "mlharness sweep (harness/sweep) not available")
    from harness.sweep.operations import SweepProgress, SweepRequest
    from harness.sweep.operations import sweep as sweep_op

    def progress(counts: SweepProgress) -> None:
        ctx.progress(
            f"sweep: {counts.done}/{counts.total} done ({counts.cached} cached, "
            f"{counts.failed} failed), {counts.running} running"
        )

    request = SweepRequest(
        project=str(REPO / "projects" / "rf"),
        params=tuple(GRID.items()),
        metric=SWEEP_METRIC,
        mode="max",
        env_manager="local",
        experiment_name=SWEEP_EXPERIMENT,
        tracking_uri=ctx.tracking_uri,
        jobs=SWEEP_JOBS,
        log_dir=str(ctx.out / "sweep-logs"),
    )
    result = sweep_op(request, on_progress=progress)
    counts = result.counts
    rows = tuple(
        (
            str(t.index),
            ", ".join(f"{k}={v}" for k, v in t.params.items()),
            t.status if not t.error else f"{t.status}: {t.error}",
            *(f"{t.metrics[m]:.4f}" if m in t.metrics else "-" for m in SWEEP_COLUMNS),
            (t.run_id or "")[:8],
            "yes" if t.cached else "",
        )
        for t in result.trials
    )
    table = Table(
        f"sweep {result.parent_run_id} ({result.state}), best by {SWEEP_METRIC}",
        ("trial", "params", "status", *SWEEP_COLUMNS, "run", "cached"),
        rows,
    )
    best = result.best
    if best is not None and best.run_id is not None:
        ctx.state.best_run_id = best.run_id
    ok = best is not None and not result.any_failed and counts["finished"] == len(result.trials)
    best_text = (
        f"best trial {best.index} ({' '.join(f'{k}={v}' for k, v in best.params.items())}) "
        f"{SWEEP_METRIC}={best.value:.4f}"
        if best is not None and best.value is not None
        else "no best trial"
    )
    return StepResult(
        key,
        title,
        "ok" if ok else "failed",
        f"{counts['finished']} of {len(result.trials)} trials finished "
        f"({counts['cached']} cached, {counts['failed']} failed) in {result.wall_s:.1f} s "
        f"with {SWEEP_JOBS} jobs"
        + (" (the earlier identical sweep, from the sweep memo)" if result.from_memo else "")
        + f"; {best_text}",
        details={
            "parent_run_id": result.parent_run_id,
            "state": result.state,
            "trials": len(result.trials),
            "finished": counts["finished"],
            "cached": counts["cached"],
            "failed": counts["failed"],
            "metric": SWEEP_METRIC,
            "best_run_id": best.run_id if best else None,
            "best_value": best.value if best else None,
            "best_params": dict(best.params) if best else None,
            "wall_s": round(result.wall_s, 2),
            "from_memo": result.from_memo,
        },
        tables=(table,),
    )


# -- 2. register and promote -------------------------------------------------------------------


def promote(ctx: DemoContext) -> StepResult:
    """Register the best trial's model and offer it to ``champion`` through the gates."""
    key, title = STEP_TITLES["promote"]
    run_id = ctx.state.best_run_id
    if run_id is None:
        return _skipped(key, title, "no best trial (the sweep did not run)")
    from harness.store.registry import Registry
    from registry_tools import versions
    from registry_tools.promote import PromotionRequest
    from registry_tools.promote import promote as promote_op

    registry = Registry(ctx.tracking_uri)
    registered = versions.register(registry, run_id, ctx.model)
    assert registered.version is not None
    version = registered.version.version
    request = PromotionRequest(ctx.model, ctx.alias, list(ctx.gates), version=version)
    outcome = promote_op(registry, request)
    champion = registry.holder(ctx.model, ctx.alias)
    ctx.state.champion_version = champion
    gates = Table(
        f"gates for {ctx.model} v{version} -> {ctx.alias}",
        ("gate", "candidate", "reference", "passed"),
        tuple(
            (
                r.gate,
                f"{r.candidate:.4f}",
                "-" if r.reference is None else f"{r.reference:.4f}",
                "yes" if r.passed else "no",
            )
            for r in outcome.plan.results
        ),
    )
    refusal = outcome.refusal()
    if refusal is not None:
        moved = f"refused (exit code {int(refusal.exit_code)}): {refusal.message}"
    elif outcome.applied:
        moved = f"{ctx.alias}: {outcome.plan.current or 'unset'} -> v{version}"
    else:
        moved = f"v{version} already is {ctx.alias}"
    return StepResult(
        key,
        title,
        "failed" if refusal is not None else "ok",
        f"run {run_id[:8]} registered as {ctx.model} v{version} "
        f"({'new' if registered.created else 'existing'}); {moved}",
        details={
            "model": ctx.model,
            "run_id": run_id,
            "version": version,
            "created": registered.created,
            "applied": outcome.applied,
            "gates": [r.gate for r in outcome.plan.results],
            "gates_passed": outcome.plan.passed,
            "champion": champion,
        },
        tables=(gates,),
    )


# -- 3. Airflow --------------------------------------------------------------------------------


AIRFLOW_TIMEOUT_S = 600.0
_DAG_RUN_LINE = re.compile(
    r"DagRun Finished: dag_id=(?P<dag>[^,]+), .*?run_id=(?P<run>[^,]+), .*?state=(?P<state>\w+)"
)


def _airflow_env(ctx: DemoContext, home: Path, dags: Path) -> dict[str, str]:
    """An embedded Airflow: its own home (SQLite), the rendered DAGs, no examples, the
    demo's tracking store."""
    return ctx.env(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        MLHARNESS_PIPELINE_DIR=str(PIPELINE.parent),
    )


def _airflow(ctx: DemoContext, name: str, args: Sequence[str], env: dict[str, str]) -> str:
    """Run one ``airflow`` command under the supervisor; its log, or an error with its end."""
    done = ctx.supervisor.run(
        name, [str(ctx.bin / "airflow"), *args], timeout_s=AIRFLOW_TIMEOUT_S, env=env
    )
    ctx.record_pids()
    log = done.log()
    if done.timed_out or done.returncode != 0:
        why = (
            f"timed out after {AIRFLOW_TIMEOUT_S:.0f} s"
            if done.timed_out
            else (f"exited with {done.returncode}")
        )
        tail = "\n".join(log.strip().splitlines()[-5:])
        raise ExternalServiceError(f"airflow {' '.join(args)} {why}: {tail}")
    return log


def airflow(ctx: DemoContext) -> StepResult:
    """Render the pipeline from examples/rf-pipeline.yaml and ``airflow dags test`` it."""
    key, title = STEP_TITLES["airflow"]
    if not PIPELINE.exists():
        return _skipped(key, title, "examples/rf-pipeline.yaml not available")
    if not _have("orchestration.pipelines.operations"):
        return _skipped(key, title, "mlharness airflow render not available")
    if not (ctx.bin / "airflow").exists():
        return _skipped(key, title, "airflow is not installed (the [airflow] extra)")
    from orchestration.pipelines.operations import PipelineRequest, write_pipeline

    rendered = ctx.out / "airflow"
    ctx.progress(f"mlharness airflow render {PIPELINE.relative_to(REPO)}")
    result = write_pipeline(PipelineRequest(config=PIPELINE, output=rendered))
    dag_id = f"{result.pipeline}_train"
    dags = rendered / "dags"
    home = Path(tempfile.mkdtemp(prefix="mlharness-demo-airflow-"))
    try:
        env = _airflow_env(ctx, home, dags)
        ctx.progress("airflow db migrate (a temporary Airflow home on SQLite)")
        _airflow(ctx, "airflow-db-migrate", ["db", "migrate"], env)
        ctx.progress(f"airflow dags test {dag_id}")
        log = _airflow(ctx, "airflow-dags-test", ["dags", "test", dag_id], env)
        finished = _DAG_RUN_LINE.search(log)
        if finished is None:
            raise ExternalServiceError(
                f"airflow dags test {dag_id} did not report a finished run; "
                f"log: {ctx.supervisor.log_dir / 'airflow-dags-test.log'}"
            )
        run_id, state = finished["run"], finished["state"]
        ctx.progress(f"airflow tasks states-for-dag-run {dag_id}")
        states_log = _airflow(
            ctx,
            "airflow-task-states",
            ["tasks", "states-for-dag-run", dag_id, run_id, "--output", "json"],
            env,
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    tasks = _task_states(states_log)
    promoted = tasks.get("promote") == "success"
    outcome = (
        f"the DAG promoted its version to {ctx.alias}"
        if promoted
        else "the DAG's version was not promoted (a gate failed; on_fail: skip)"
    )
    table = Table(
        f"{dag_id}: {state}",
        ("task", "state"),
        tuple((task, task_state) for task, task_state in tasks.items()),
    )
    ok = state == "success" and all(v in {"success", "skipped"} for v in tasks.values())
    dag_files = [str(rendered / d) for d in result.dags]
    return StepResult(
        key,
        title,
        "ok" if ok else "failed",
        f"rendered {len(result.dags)} DAGs and the compose stack into {rendered.name}/; "
        f"airflow dags test {dag_id}: run {run_id} {state} "
        f"({sum(v == 'success' for v in tasks.values())} tasks succeeded, "
        f"{sum(v == 'skipped' for v in tasks.values())} skipped)" + f"; {outcome}",
        details={
            "dag_id": dag_id,
            "run_id": run_id,
            "state": state,
            "tasks": tasks,
            "dag_files": dag_files,
            "rendered": str(rendered),
            "promoted": promoted,
        },
        artifacts={"DAG files": str(dags), "Airflow stack": str(rendered)},
        tables=(table,),
    )


def _task_states(text: str) -> dict[str, str]:
    """``airflow tasks states-for-dag-run --output json``: task id -> state, in run order."""
    start = text.find("[")
    rows = json.loads(text[start : text.rindex("]") + 1]) if start >= 0 else []
    rows.sort(key=lambda row: str(row.get("start_date") or ""))
    return {str(row["task_id"]): str(row["state"]) for row in rows}


# -- 4. serve ----------------------------------------------------------------------------------

# Features the drifted batch shifts (20 of 30: more than the data-set drift share of 0.5).
SHIFTED_PREFIXES = ("mean_", "worst_")
SHIFT_STD = 1.5
BURST_REQUESTS = 240
BURST_THREADS = 8
SERVE_TIMEOUT_S = 180.0
DRIFT_INTERVAL_S = 1.0
DRIFT_WAIT_S = 15.0
# Series of /metrics the excerpt shows.
EXCERPT_SERIES = (
    "mlharness_http_requests_total",
    "mlharness_http_request_duration_seconds_count",
    "mlharness_http_request_duration_seconds_sum",
    "mlharness_batch_rows_count",
    "mlharness_batch_rows_sum",
    "mlharness_model_info",
    "mlharness_online_drift_score",
    "mlharness_online_drift_detected",
)


def _champion_uri(ctx: DemoContext) -> str:
    return f"models:/{ctx.model}@{ctx.alias}"


def _prepare_data(ctx: DemoContext) -> tuple[Path, Path]:
    """The champion run's test split, and a drifted copy of it (some features shifted)."""
    import pandas as pd

    from harness.store.registry import Registry

    registry = Registry(ctx.tracking_uri)
    version = registry.holder(ctx.model, ctx.alias)
    if version is None:
        raise RuntimeError(f"model {ctx.model!r} has no alias {ctx.alias!r}")
    run_id = registry.get_version(ctx.model, version).run_id
    if not run_id:
        raise RuntimeError(f"version {version} of {ctx.model!r} has no source run")
    data = ctx.out / "data"
    data.mkdir(parents=True, exist_ok=True)
    downloaded = registry.download_artifact(run_id, "data/test.csv", tempfile.mkdtemp())
    test = pd.read_csv(downloaded)
    test_csv = data / "test.csv"
    test.to_csv(test_csv, index=False)
    drifted = test.copy()
    for column in drifted.columns:
        if column.startswith(SHIFTED_PREFIXES):
            drifted[column] = drifted[column] + SHIFT_STD * float(test[column].std())
    drifted_csv = data / "drifted.csv"
    drifted.drop(columns=["target"]).to_csv(drifted_csv, index=False)
    ctx.state.test_csv, ctx.state.drifted_csv = test_csv, drifted_csv
    return test_csv, drifted_csv


def _build_profile(ctx: DemoContext) -> Path:
    """The champion's reference profile, logged beside its run (what the server reads)."""
    from monitoring.operations import ProfileOptions, build_reference_profile

    path = ctx.out / "profile" / "profile.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    options = ProfileOptions(model=_champion_uri(ctx), tracking_uri=ctx.tracking_uri)
    build_reference_profile(None, path, options)
    ctx.state.profile = path
    return path


def _payloads(frame: object, rows_per_request: Sequence[int]) -> list[bytes]:
    """``dataframe_split`` bodies of consecutive slices of ``frame`` (cycled)."""
    import pandas as pd

    assert isinstance(frame, pd.DataFrame)
    bodies, start = [], 0
    for rows in rows_per_request:
        if start + rows > len(frame):
            start = 0
        part = frame.iloc[start : start + rows]
        start += rows
        split = {"columns": list(part.columns), "data": part.to_numpy().tolist()}
        bodies.append(json.dumps({"dataframe_split": split}).encode())
    return bodies


@dataclass(frozen=True)
class Traffic:
    """What a burst of requests got back."""

    requests: int
    statuses: dict[str, int]
    seconds: float
    rows: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def _burst(url: str, bodies: Sequence[bytes], rows: int, threads: int) -> Traffic:
    """POST every body to ``url`` from ``threads`` threads at once."""
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    statuses: Counter[str] = Counter()
    with httpx.Client(timeout=60.0) as client:

        def one(body: bytes) -> str:
            try:
                answer = client.post(
                    url, content=body, headers={"Content-Type": "application/json"}
                )
            except httpx.HTTPError as exc:
                return type(exc).__name__
            return str(answer.status_code)

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            statuses.update(pool.map(one, bodies))
        seconds = time.monotonic() - started
    return Traffic(len(bodies), dict(sorted(statuses.items())), seconds, rows)


def _quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """``histogram_quantile`` of cumulative ``(le, count)`` buckets, as Prometheus does it."""
    if not buckets or buckets[-1][1] == 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    lower_le, lower_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == float("inf"):
                return lower_le
            if count == lower_count:
                return le
            return lower_le + (le - lower_le) * (rank - lower_count) / (count - lower_count)
        lower_le, lower_count = le, count
    return lower_le


@dataclass(frozen=True)
class MetricsView:
    """What the demo reads off ``/metrics``."""

    requests_ok: float
    latency_s: dict[str, float | None]
    batches: float
    batch_rows: float
    drift_scores: dict[str, float]
    drift_methods: dict[str, str]  # the test behind each score (ks: a p-value)
    drift_detected: dict[str, float]
    excerpt: tuple[str, ...]
    names: tuple[str, ...]


def _read_metrics(text: str, route: str = "/invocations") -> MetricsView:
    from prometheus_client.parser import text_string_to_metric_families

    requests_ok = batches = batch_rows = 0.0
    buckets: list[tuple[float, float]] = []
    scores: dict[str, float] = {}
    detected: dict[str, float] = {}
    methods: dict[str, str] = {}
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            names.add(sample.name)
            labels = sample.labels
            if sample.name == "mlharness_http_requests_total":
                if labels.get("route") == route and labels.get("status", "").startswith("2"):
                    requests_ok += sample.value
            elif sample.name == "mlharness_http_request_duration_seconds_bucket":
                if labels.get("route") == route:
                    buckets.append((float(labels["le"]), sample.value))
            elif sample.name == "mlharness_batch_rows_count":
                batches += sample.value
            elif sample.name == "mlharness_batch_rows_sum":
                batch_rows += sample.value
            elif sample.name == "mlharness_online_drift_score":
                scores[labels.get("feature", "?")] = sample.value
                methods[labels.get("feature", "?")] = labels.get("method", "?")
            elif sample.name == "mlharness_online_drift_detected":
                detected[labels.get("feature", "?")] = sample.value
    buckets.sort()
    latency = {f"p{int(q * 100)}": _quantile(buckets, q) for q in (0.5, 0.9, 0.99)}
    excerpt = _excerpt(text)
    return MetricsView(
        requests_ok,
        latency,
        batches,
        batch_rows,
        scores,
        methods,
        detected,
        excerpt,
        tuple(sorted(names)),
    )


def _excerpt(text: str, per_series: int = 2) -> tuple[str, ...]:
    """A few raw lines of each interesting series, as the server wrote them (of the routes,
    only /invocations)."""
    shown: dict[str, int] = {}
    lines = []
    for line in text.splitlines():
        if line.startswith("#") or ("route=" in line and 'route="/invocations"' not in line):
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in EXCERPT_SERIES and shown.get(name, 0) < per_series:
            shown[name] = shown.get(name, 0) + 1
            lines.append(line)
    return tuple(lines)


def _settled_metrics(base: str, *, drifting: bool) -> str:
    """``/metrics`` once the online drift gauges were updated after the traffic so far
    (two update intervals), or as soon as a feature drifts when ``drifting``."""
    import httpx

    deadline = time.monotonic() + max(3 * DRIFT_INTERVAL_S, DRIFT_WAIT_S if drifting else 0)
    settle = time.monotonic() + 2 * DRIFT_INTERVAL_S
    while True:
        text = httpx.get(f"{base}/metrics", timeout=30.0).text
        now = time.monotonic()
        if drifting and any(v >= 1 for v in _read_metrics(text).drift_detected.values()):
            return text
        if now >= deadline or (not drifting and now >= settle):
            return text
        time.sleep(0.5)


def _serve_available() -> bool:
    from harness.app import COMMANDS

    return "serve" in COMMANDS


def serve(ctx: DemoContext) -> StepResult:
    """Serve the champion, send a burst of traffic and a drifted batch, read /metrics."""
    key, title = STEP_TITLES["serve"]
    if ctx.state.champion_version is None:
        return _skipped(key, title, "no champion (step 2 did not promote)")
    import httpx
    import pandas as pd

    test_csv, drifted_csv = _prepare_data(ctx)
    profile = _build_profile(ctx)
    if not _serve_available():
        return _skipped(key, title, "mlharness serve not available")
    features = pd.read_csv(test_csv).drop(columns=["target"])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = ctx.supervisor.start(
        "serve",
        [
            str(ctx.bin / "mlharness"),
            "serve",
            _champion_uri(ctx),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            # The window is one test split, updated every second: the drifted batch
            # replaces the whole window and the gauges show it within seconds.
            "--drift-window-rows",
            str(len(features)),
            "--drift-interval",
            str(DRIFT_INTERVAL_S),
        ],
        env=ctx.env(),
    )
    ctx.record_pids()
    wait_http_ok(f"{base}/ping", server, SERVE_TIMEOUT_S)
    invocations = f"{base}/invocations"
    sizes = [1 + i % 5 for i in range(BURST_REQUESTS)]
    ctx.progress(f"a burst of {BURST_REQUESTS} requests from {BURST_THREADS} threads")
    idle = _read_metrics(httpx.get(f"{base}/metrics", timeout=30.0).text)
    burst = _burst(invocations, _payloads(features, sizes), sum(sizes), BURST_THREADS)
    before = _settled_metrics(base, drifting=False)
    drifted = pd.read_csv(drifted_csv)
    chunk = 10
    drift_sizes = [chunk] * ((len(drifted) + chunk - 1) // chunk)
    ctx.progress(f"a drifted batch of {len(drifted)} rows")
    shifted = _burst(invocations, _payloads(drifted, drift_sizes), len(drifted), BURST_THREADS)
    text = _settled_metrics(base, drifting=True)
    metrics_file = ctx.out / "serve" / "metrics.txt"
    metrics_file.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(metrics_file, text)
    ctx.supervisor.stop(server)
    view = _read_metrics(text)
    before_view = _read_metrics(before)
    # The request rate as Prometheus would compute it: the counter's increase over the burst.
    server_rate = (before_view.requests_ok - idle.requests_ok) / max(burst.seconds, 1e-9)
    n_before = sum(1 for v in before_view.drift_detected.values() if v >= 1)
    failed = {s: n for t in (burst, shifted) for s, n in t.statuses.items() if s != "200"}
    drifting = [f for f, v in view.drift_detected.items() if v >= 1]
    scores = ", ".join(
        f"{f} {view.drift_methods.get(f, '?')}={view.drift_scores[f]:.2g}"
        for f in drifting[:3]
        if f in view.drift_scores
    )
    n_drifted = sum(1 for v in view.drift_detected.values() if v >= 1)
    table = Table(
        "traffic and /metrics",
        ("what", "value"),
        (
            ("burst", f"{burst.requests} requests, {burst.rows} rows, {BURST_THREADS} threads"),
            ("burst answers", ", ".join(f"{s}: {n}" for s, n in burst.statuses.items())),
            (
                "request rate (/metrics)",
                f"{server_rate:.0f} requests/s (2xx /invocations counted over the burst)",
            ),
            ("drifted batch", f"{shifted.requests} requests, {shifted.rows} rows"),
            ("2xx /invocations (server)", f"{view.requests_ok:.0f}"),
            *(
                (f"latency {q} (histogram)", "-" if v is None else f"{v * 1000:.1f} ms")
                for q, v in view.latency_s.items()
            ),
            (
                "predict calls, rows",
                f"{view.batches:.0f} calls, {view.batch_rows:.0f} rows "
                f"({view.batch_rows / max(view.batches, 1):.1f} rows per call)",
            ),
            (
                "features drifting (online)",
                f"{n_before} of {len(before_view.drift_detected)} after the burst, "
                f"{n_drifted} of {len(view.drift_detected)} after the drifted batch",
            ),
            (
                "drifting features (online)",
                ", ".join(drifting[:6]) + (" ..." if len(drifting) > 6 else "") or "-",
            ),
            ("their scores", scores or "-"),
        ),
    )
    status: Status = "ok" if not failed and view.requests_ok > 0 else "failed"
    return StepResult(
        key,
        title,
        status,
        f"served {_champion_uri(ctx)} (v{ctx.state.champion_version}) on port {port}: "
        f"{burst.requests + shifted.requests} requests"
        + (f", non-200 answers {failed}" if failed else ", all 200")
        + f", {n_drifted} feature(s) drifting online",
        details={
            "model_uri": _champion_uri(ctx),
            "port": port,
            "requests": burst.requests + shifted.requests,
            "statuses": {
                **burst.statuses,
                **{f"drifted {s}": n for s, n in shifted.statuses.items()},
            },
            "burst_rate_per_s": round(burst.rate, 1),
            "request_rate_per_s": round(server_rate, 1),
            "requests_ok_server": view.requests_ok,
            "latency_s": {q: v for q, v in view.latency_s.items()},
            "batches": view.batches,
            "batch_rows": view.batch_rows,
            "drift_scores": view.drift_scores,
            "drift_methods": view.drift_methods,
            "drift_detected": view.drift_detected,
            "drifting_after_burst": n_before,
            "drifting_after_drifted_batch": n_drifted,
            "metric_names": list(view.names),
        },
        artifacts={"profile": str(profile), "metrics": str(metrics_file)},
        tables=(table,),
        excerpt=view.excerpt,
    )


# -- 5. drift report ---------------------------------------------------------------------------


def drift(ctx: DemoContext) -> StepResult:
    """The drift report of the drifted batch against the champion's reference profile."""
    key, title = STEP_TITLES["drift"]
    if ctx.state.profile is None or ctx.state.drifted_csv is None:
        return _skipped(key, title, "no reference profile or drifted batch (step 4)")
    from monitoring.operations import DriftOutputs, check_drift

    html = ctx.out / "drift-report.html"
    report_file = ctx.out / "drift-report.json"
    gauges = ctx.out / "drift-report.prom"
    outcome = check_drift(
        ctx.state.profile,
        ctx.state.drifted_csv,
        outputs=DriftOutputs(report=report_file, html=html, prometheus_textfile=gauges),
    )
    result = outcome.result
    assert result is not None
    drifted = [c.name for c in result.columns if c.role == "feature" and c.drift]
    from monitoring.report_html import summary_rows

    rows = summary_rows(result)
    shown = [r for r in rows if r["drift"] == "yes"][:4] + [r for r in rows if r["drift"] != "yes"][
        :2
    ]
    table = Table(
        f"drift report: {len(drifted)} of {result.n_features} features drifted "
        f"(a few rows of {len(rows)})",
        ("column", "role", "test", "score", "threshold", "drift"),
        tuple(
            tuple(str(r[k]) for k in ("column", "role", "test", "score", "threshold", "drift"))
            for r in shown
        ),
    )
    verdict = "DRIFT" if result.dataset_drift else "no drift"
    return StepResult(
        key,
        title,
        "ok" if result.dataset_drift else "failed",
        f"{verdict}: {result.n_drifted_features} of {result.n_features} features drifted "
        f"(share {result.drift_share:.2f}, threshold {result.drift_share_threshold:.2f}) "
        f"in {result.seconds:.2f} s",
        details={
            "dataset_drift": result.dataset_drift,
            "n_features": result.n_features,
            "n_drifted": result.n_drifted_features,
            "drifted": drifted,
            "html": str(html),
        },
        artifacts={
            "HTML report": str(html),
            "JSON report": str(report_file),
            "drift gauges": str(gauges),
        },
        tables=(table,),
    )


# -- 6. monitoring stack -----------------------------------------------------------------------


def stack(ctx: DemoContext) -> StepResult:
    """Render the monitoring stack from the same config and run its promtool tests."""
    key, title = STEP_TITLES["stack"]
    if not PIPELINE.exists():
        return _skipped(key, title, "examples/rf-pipeline.yaml not available")
    if not _have("monitoring.stack.operations"):
        return _skipped(key, title, "mlharness monitor render not available")
    promtool = shutil.which("promtool", path=ctx.env()["PATH"])
    if promtool is None:
        return _skipped(key, title, "promtool not installed (Debian package prometheus)")
    from monitoring.stack.operations import write_stack

    out = ctx.out / "monitoring-stack"
    ctx.progress(f"mlharness monitor render {PIPELINE.relative_to(REPO)}")
    rendered = write_stack(PIPELINE, out)
    tests = sorted(str(p.relative_to(out)) for p in (out / "tests").glob("*.yml"))
    if not tests:
        return StepResult(key, title, "failed", f"no promtool test files in {out}/tests")
    ctx.progress(f"promtool test rules {' '.join(tests)}")
    done = subprocess.run(
        [promtool, "test", "rules", *tests],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = (done.stdout + done.stderr).strip().splitlines()
    passed = done.returncode == 0
    return StepResult(
        key,
        title,
        "ok" if passed else "failed",
        f"rendered {len(rendered.files)} files ({len(rendered.alerts)} alerts) into "
        f"{out.name}/; promtool test rules: "
        + ("passed" if passed else f"FAILED (exit {done.returncode})"),
        details={
            "stack": str(out),
            "files": len(rendered.files),
            "alerts": list(rendered.alerts),
            "test_files": len(tests),
            "promtool_exit": done.returncode,
            "promtool_passed": passed,
        },
        artifacts={"monitoring stack": str(out)},
        excerpt=tuple(output[-12:]),
    )


STEP_TITLES: dict[str, tuple[str, str]] = {
    "sweep": ("sweep", "1. sweep of projects/rf"),
    "promote": ("promote", "2. register the best trial, gated promotion to champion"),
    "airflow": ("airflow", "3. Airflow pipeline: render and `airflow dags test`"),
    "serve": ("serve", "4. mlharness serve: traffic, a drifted batch, /metrics"),
    "drift": ("drift", "5. drift report of the drifted batch (HTML)"),
    "stack": ("stack", "6. monitoring stack: render and `promtool test rules`"),
}

STEPS: tuple[Step, ...] = (sweep, promote, airflow, serve, drift, stack)


def temp_dir(prefix: str) -> Path:
    """A fresh temporary directory (the Airflow home)."""
    return Path(tempfile.mkdtemp(prefix=prefix))
