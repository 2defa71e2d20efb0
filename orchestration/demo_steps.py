"""The steps of ``make demo``: each one a typed function that calls the same operations the
CLI calls and returns a :class:`StepResult`; nothing here prints (``orchestration.demo``
renders the results).

A step that needs a piece the tree does not have yet (an operation not landed) is reported
as ``skipped`` with the reason, never faked; a step whose predecessor failed is skipped
with the name of that step. Every background process goes through the context's
:class:`~orchestration.processes.Supervisor`, so it is stopped however the demo ends.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness.kernel.atomic import write_text_atomic
from harness.kernel.errors import MlharnessError
from orchestration.processes import Supervisor

__all__ = [
    "STEPS",
    "DemoContext",
    "DemoState",
    "Step",
    "StepResult",
    "Table",
    "run_step",
    "write_summary",
]

Status = Literal["ok", "failed", "skipped"]
# A JSON-able value of a step's details (what the summary file and the test read).
Detail = str | int | float | bool | None | list["Detail"] | dict[str, "Detail"]

REPO = Path(__file__).resolve().parent.parent
MODEL = "rf"
ALIAS = "champion"
GATES = ("accuracy>=0.9", "f1>=champion.f1")
GRID = {"n_estimators": "20,50", "max_depth": "3,5,none"}
PIPELINE = REPO / "examples" / "rf-pipeline.yaml"


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
    details: Mapping[str, Detail] = field(default_factory=dict)
    artifacts: Mapping[str, str] = field(default_factory=dict)
    tables: tuple[Table, ...] = ()
    excerpt: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Detail]:
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
    best_metrics: dict[str, float] = field(default_factory=dict)
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
    # Every process group the demo started (background or foreground), for pids.json.
    pids: list[int] = field(default_factory=list)

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
        """Remember the supervisor's processes and write ``pids.json`` (the test reads it)."""
        for pid in self.supervisor.pids():
            if pid not in self.pids:
                self.pids.append(pid)
        write_text_atomic(self.out / "pids.json", json.dumps({"pids": self.pids}) + "\n")

    def run_foreground(
        self, name: str, command: Sequence[str], *, timeout_s: float, env: dict[str, str]
    ) -> tuple[int, str]:
        """Run a command to its end in its own session (its group is stopped afterwards,
        also on Ctrl-C); returns the exit code and its log."""
        entry = self.supervisor.start(name, command, env=env, cwd=Path.cwd())
        self.record_pids()
        try:
            code = entry.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            code = -1
        finally:
            self.supervisor.stop(entry)
        return code, entry.log_file.read_text(errors="replace")


Step = Callable[[DemoContext], StepResult]


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
    except (OSError, ValueError, RuntimeError, KeyError, subprocess.SubprocessError) as exc:
        result = StepResult(key, title, "failed", f"failed: {type(exc).__name__}: {exc}")
    elapsed = time.monotonic() - started
    ctx.record_pids()
    return StepResult(
        result.key,
        result.title,
        result.status,
        result.summary,
        elapsed,
        result.details,
        result.artifacts,
        result.tables,
        result.excerpt,
    )


def write_summary(ctx: DemoContext, results: Sequence[StepResult], total_s: float) -> Path:
    """``summary.json`` in the output folder: every step's result (the test reads it)."""
    document = {
        "tracking_uri": ctx.tracking_uri,
        "output": str(ctx.out),
        "ok": all(r.ok for r in results),
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
    if not _have("harness.sweep"):
        return _skipped(key, title, "mlharness sweep (harness/sweep) not available")
    return _skipped(key, title, "mlharness sweep (harness/sweep) not wired yet")


# -- 2. register and promote -------------------------------------------------------------------


def promote(ctx: DemoContext) -> StepResult:
    """Register the best trial's model and offer it to ``champion`` through the gates."""
    key, title = STEP_TITLES["promote"]
    run_id = ctx.state.best_run_id
    if run_id is None:
        return _skipped(key, title, "no best trial (the sweep did not run)")
    from registry_tools import versions
    from registry_tools.client import Registry
    from registry_tools.promote import PromotionRequest
    from registry_tools.promote import promote as promote_op

    registry = Registry(ctx.tracking_uri)
    registered = versions.register(registry, run_id, MODEL)
    assert registered.version is not None
    version = registered.version.version
    request = PromotionRequest(MODEL, ALIAS, list(GATES), version=version)
    outcome = promote_op(registry, request)
    champion = registry.holder(MODEL, ALIAS)
    ctx.state.champion_version = champion
    gates = Table(
        f"gates for {MODEL} v{version} -> {ALIAS}",
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
    if outcome.applied:
        moved = f"{ALIAS}: {outcome.plan.current or 'unset'} -> v{version}"
    else:
        moved = f"v{version} already is {ALIAS}"
    return StepResult(
        key,
        title,
        "ok",
        f"run {run_id[:8]} registered as {MODEL} v{version} "
        f"({'new' if registered.created else 'existing'}); {moved}",
        details={
            "model": MODEL,
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


def airflow(ctx: DemoContext) -> StepResult:
    """Render the pipeline from examples/rf-pipeline.yaml and ``airflow dags test`` it."""
    key, title = STEP_TITLES["airflow"]
    if not PIPELINE.exists():
        return _skipped(key, title, "examples/rf-pipeline.yaml not available")
    return _skipped(key, title, "mlharness airflow render not wired yet")


# -- 4. serve ----------------------------------------------------------------------------------


def serve(ctx: DemoContext) -> StepResult:
    """Serve the champion, send a burst of traffic and a drifted batch, read /metrics."""
    key, title = STEP_TITLES["serve"]
    return _skipped(key, title, "mlharness serve not wired yet")


# -- 5. drift report ---------------------------------------------------------------------------


def drift(ctx: DemoContext) -> StepResult:
    """The drift report of the drifted batch against the champion's reference profile."""
    key, title = STEP_TITLES["drift"]
    return _skipped(key, title, "not wired yet")


# -- 6. monitoring stack -----------------------------------------------------------------------


def stack(ctx: DemoContext) -> StepResult:
    """Render the monitoring stack from the same config and run its promtool tests."""
    key, title = STEP_TITLES["stack"]
    if shutil.which("promtool") is None:
        return _skipped(key, title, "promtool not installed (Debian package prometheus)")
    return _skipped(key, title, "mlharness monitor render not wired yet")


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
