"""What every demo step shares: where it writes, the store, the supervisor, and its result.

A step is a function from a :class:`DemoContext` to an :class:`Outcome`; :func:`run_step`
times it and turns an mlharness error or a bug into a failed step, so the later steps still
run and the exit code says 1. Nothing here prints (``orchestration.demo.main`` renders the
results).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness.kernel.atomic import write_text_atomic
from harness.kernel.errors import ExitCode, MlharnessError
from orchestration.processes import Supervisor

__all__ = [
    "PIPELINE",
    "REPO",
    "DemoContext",
    "DemoState",
    "NotReached",
    "Outcome",
    "Status",
    "Step",
    "StepResult",
    "Table",
    "all_succeeded",
    "pipeline_settings",
    "run_step",
    "write_summary",
]

Status = Literal["ok", "failed"]

REPO = Path(__file__).resolve().parents[2]
# The pipeline the demo renders, promotes by and monitors (its model and promotion sections).
PIPELINE = REPO / "examples" / "rf-pipeline.yaml"


@dataclass(frozen=True)
class Table:
    """A small table for the display: a title, column names and rows of text."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Outcome:
    """What a step did: success, a one-line summary, facts, artifacts, tables, an excerpt."""

    ok: bool
    summary: str
    # JSON-able facts (what summary.json holds and the test reads).
    details: Mapping[str, object] = field(default_factory=dict)
    artifacts: Mapping[str, str] = field(default_factory=dict)
    tables: tuple[Table, ...] = ()
    excerpt: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepResult:
    """One step's outcome with its key, title, status and time (one row of the summary)."""

    key: str
    title: str
    status: Status
    summary: str
    seconds: float = 0.0
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


class NotReached(MlharnessError):
    """A step needs what an earlier step did not produce (it failed): this one fails too."""

    exit_code = ExitCode.DIFFERENT


@dataclass
class DemoState:
    """What a step hands to the steps after it."""

    best_run_id: str | None = None
    champion_version: str | None = None
    test_csv: Path | None = None
    drifted_csv: Path | None = None
    profile: Path | None = None
    # What a step started ahead of its turn (Step.start), by step key: its own record, or
    # the error that stopped it, for the step to report when its turn comes.
    started: dict[str, object] = field(default_factory=dict)


@dataclass
class DemoContext:
    """Where the demo writes, which store it uses, and the supervisor of its processes."""

    out: Path
    tracking_uri: str
    supervisor: Supervisor
    state: DemoState = field(default_factory=DemoState)
    python: Path = field(default_factory=lambda: Path(sys.executable))
    # The registered model, its alias and the promotion gates (from the pipeline config).
    model: str = "rf"
    alias: str = "champion"
    gates: tuple[str, ...] = ()
    # Told what a long step is doing right now (the display's status line).
    progress: Callable[[str], None] = field(default=lambda _text: None)

    @property
    def bin(self) -> Path:
        return self.python.parent

    @property
    def champion_uri(self) -> str:
        return f"models:/{self.model}@{self.alias}"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a child process: this venv's bin first, the demo's store."""
        from harness.store.mlflow_boundary import child_env

        env = child_env(self.tracking_uri)  # the store and MLflow's retry/output policy
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env.update(extra)
        return env

    def record_pids(self) -> None:
        """Write ``pids.json``: every process the supervisor started (the test checks that
        none outlives the demo)."""
        started = [{"name": e.name, "pid": e.process.pid} for e in self.supervisor.history]
        document = {"pids": [e["pid"] for e in started], "processes": started}
        write_text_atomic(self.out / "pids.json", json.dumps(document) + "\n")


@dataclass(frozen=True)
class Step:
    """One section of the demo: its key (in summary.json), its title and what it does."""

    key: str
    title: str
    run: Callable[[DemoContext], Outcome]
    # Started in the background when the step ``starts_with`` begins (work that needs
    # nothing an earlier step makes and would otherwise leave the CPU idle); ``run`` waits.
    start: Callable[[DemoContext], None] | None = None
    starts_with: str | None = None


def pipeline_settings() -> tuple[str, str, tuple[str, ...]]:
    """Model name, alias and gates of examples/rf-pipeline.yaml: the demo promotes by the
    same gates the pipeline's DAG applies."""
    from harness.schemas.pipeline_config import load

    config = load(PIPELINE)
    return config.model.name, config.promotion.alias, tuple(config.promotion.gates)


def run_step(step: Step, ctx: DemoContext) -> StepResult:
    """Run one step, timed; an mlharness error or a bug fails the step, not the demo."""
    started = time.monotonic()
    try:
        outcome = step.run(ctx)
    except MlharnessError as exc:
        outcome = Outcome(False, f"failed: {exc.one_line()}")
    except Exception as exc:  # a bug in a step: the later steps still run, exit code 1
        trace = ctx.supervisor.log_dir / f"{step.key}.traceback.txt"
        trace.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(trace, traceback.format_exc())
        outcome = Outcome(False, f"internal error: {type(exc).__name__}: {exc} (see {trace})")
    ctx.record_pids()
    fields = {f.name: getattr(outcome, f.name) for f in dataclasses.fields(Outcome)}
    ok = fields.pop("ok")
    return StepResult(
        step.key,
        step.title,
        "ok" if ok else "failed",
        seconds=time.monotonic() - started,
        **fields,
    )


def all_succeeded(results: Sequence[StepResult], steps: int) -> bool:
    """Every one of ``steps`` ran (none left out by an interruption) and succeeded."""
    return len(results) == steps and all(r.ok for r in results)


def write_summary(
    ctx: DemoContext,
    results: Sequence[StepResult],
    total_s: float,
    *,
    ok: bool,
    interrupted: bool,
) -> Path:
    """``summary.json`` in the output folder: every step's result (the test reads it)."""
    document = {
        "tracking_uri": ctx.tracking_uri,
        "output": str(ctx.out),
        "ok": ok and not interrupted,
        "interrupted": interrupted,
        "seconds": round(total_s, 2),
        "steps": [r.to_dict() for r in results],
    }
    path = ctx.out / "summary.json"
    write_text_atomic(path, json.dumps(document, indent=1) + "\n")
    return path
