"""Step 6: render the monitoring stack from the same config and run its promtool tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness.kernel.errors import ExternalServiceError
from orchestration.demo.context import PIPELINE, REPO, DemoContext, Outcome, Step

__all__ = ["STEP"]

PROMTOOL_TIMEOUT_S = 300


def _promtool_test(promtool: str, stack: Path, test: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, "test", "rules", test],
        cwd=stack,
        capture_output=True,
        text=True,
        timeout=PROMTOOL_TIMEOUT_S,
        check=False,
    )


def run(ctx: DemoContext) -> Outcome:
    from monitoring.stack.operations import write_stack

    # The demo checked its Debian packages before the first step (prerequisites.py).
    promtool = shutil.which("promtool", path=ctx.env()["PATH"])
    if promtool is None:
        raise ExternalServiceError("promtool is not on PATH", hint="apt-get install prometheus")
    out = ctx.out / "monitoring-stack"
    ctx.progress(f"mlharness monitor render {PIPELINE.relative_to(REPO)}")
    rendered = write_stack(PIPELINE, out)
    tests = sorted(str(p.relative_to(out)) for p in (out / "tests").glob("*.yml"))
    if not tests:
        return Outcome(False, f"no promtool test files in {out}/tests")
    ctx.progress(f"promtool test rules {' '.join(tests)}")
    # One promtool per test file, side by side: promtool tests the files one after the
    # other on one core (~30 s of CPU for the example's four), so this step's wall time
    # shrinks with the cores there are; the verdict and the output are the same.
    with ThreadPoolExecutor(max_workers=max(1, min(len(tests), os.cpu_count() or 1))) as pool:
        runs = list(pool.map(lambda test: _promtool_test(promtool, out, test), tests))
    output = [line for done in runs for line in (done.stdout + done.stderr).strip().splitlines()]
    returncode = max(done.returncode for done in runs)
    passed = returncode == 0
    return Outcome(
        passed,
        f"rendered {len(rendered.files)} files ({len(rendered.alerts)} alerts) into "
        f"{out.name}/; promtool test rules: "
        + ("passed" if passed else f"FAILED (exit {returncode})"),
        details={
            "stack": str(out),
            "files": len(rendered.files),
            "alerts": list(rendered.alerts),
            "test_files": len(tests),
            "promtool_exit": returncode,
            "promtool_passed": passed,
        },
        artifacts={"monitoring stack": str(out)},
        excerpt=tuple(output[-12:]),
    )


STEP = Step("stack", "6. monitoring stack: render and `promtool test rules`", run)
