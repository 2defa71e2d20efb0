"""Step 6: render the monitoring stack from the same config and run its promtool tests.

The stack needs nothing an earlier step makes, so it is rendered and its promtool tests
are started (one process per test file, under the supervisor) when step 3 begins: they
use the CPU the Airflow and serving steps leave idle, and step 6 waits for them and shows
their verdict and output. A demo that ends early stops them with everything else.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from harness.kernel.errors import ExternalServiceError
from orchestration.demo.context import PIPELINE, REPO, DemoContext, Outcome, Step
from orchestration.processes import Started

__all__ = ["STEP", "start"]

PROMTOOL_TIMEOUT_S = 300
# The step whose start starts this one's promtool tests (step 3).
STARTS_WITH = "airflow"


@dataclass(frozen=True)
class _Started:
    """The rendered stack and its promtool tests, running since ``at`` (monotonic)."""

    out: Path
    files: int
    alerts: tuple[str, ...]
    tests: tuple[str, ...]
    runs: tuple[Started, ...]
    at: float
    early: bool


def start(ctx: DemoContext) -> None:
    """Render the stack and start one ``promtool test rules`` per test file; a failure
    (or a bug) is kept for step 6 to report."""
    try:
        ctx.state.started["stack"] = _start(ctx, early=True)
    except Exception as exc:
        ctx.state.started["stack"] = exc


def _start(ctx: DemoContext, *, early: bool) -> _Started:
    from monitoring.stack.operations import write_stack

    # The demo checked its Debian packages before the first step (prerequisites.py).
    promtool = shutil.which("promtool", path=ctx.env()["PATH"])
    if promtool is None:
        raise ExternalServiceError("promtool is not on PATH", hint="apt-get install prometheus")
    out = ctx.out / "monitoring-stack"
    rendered = write_stack(PIPELINE, out)
    tests = tuple(sorted(str(p.relative_to(out)) for p in (out / "tests").glob("*.yml")))
    # One promtool per test file, side by side: promtool tests the files one after the
    # other on one core; the verdict and the output are the same.
    runs = tuple(
        ctx.supervisor.start(
            f"promtool-{Path(test).stem}", [promtool, "test", "rules", test], cwd=out
        )
        for test in tests
    )
    return _Started(
        out, len(rendered.files), tuple(rendered.alerts), tests, runs, time.monotonic(), early
    )


def run(ctx: DemoContext) -> Outcome:
    started = ctx.state.started.pop("stack", None)
    if started is None:  # not started with step 3: start it now
        ctx.progress(f"mlharness monitor render {PIPELINE.relative_to(REPO)}")
        started = _start(ctx, early=False)
    if isinstance(started, Exception):
        raise started
    assert isinstance(started, _Started)
    out, tests = started.out, started.tests
    if not tests:
        return Outcome(False, f"no promtool test files in {out}/tests")
    ctx.progress(f"promtool test rules {' '.join(tests)}")
    codes: list[int | None] = []
    for entry in started.runs:
        left = started.at + PROMTOOL_TIMEOUT_S - time.monotonic()
        try:
            codes.append(entry.process.wait(timeout=max(left, 0.001)))
        except subprocess.TimeoutExpired:
            codes.append(None)
        finally:
            ctx.supervisor.stop(entry)
    output = [
        line for entry in started.runs for line in entry.log_tail(100_000).strip().splitlines()
    ]
    timed_out = None in codes
    returncode = max((c for c in codes if c is not None), default=0)
    passed = returncode == 0 and not timed_out
    verdict = (
        "passed"
        if passed
        else f"timed out after {PROMTOOL_TIMEOUT_S} s"
        if timed_out
        else f"FAILED (exit {returncode})"
    )
    return Outcome(
        passed,
        f"rendered {started.files} files ({len(started.alerts)} alerts) into "
        f"{out.name}/; promtool test rules: {verdict}"
        + (" (started with step 3)" if started.early else ""),
        details={
            "stack": str(out),
            "files": started.files,
            "alerts": list(started.alerts),
            "test_files": len(tests),
            "promtool_exit": returncode,
            "promtool_passed": passed,
        },
        artifacts={"monitoring stack": str(out)},
        excerpt=tuple(output[-12:]),
    )


STEP = Step(
    "stack",
    "6. monitoring stack: render and `promtool test rules`",
    run,
    start=start,
    starts_with=STARTS_WITH,
)
