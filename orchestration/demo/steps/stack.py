"""Step 6: render the monitoring stack from the same config and run its promtool tests."""

from __future__ import annotations

import shutil
import subprocess

from harness.kernel.errors import ExternalServiceError
from orchestration.demo.context import PIPELINE, REPO, DemoContext, Outcome, Step

__all__ = ["STEP"]

PROMTOOL_TIMEOUT_S = 300


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
    done = subprocess.run(
        [promtool, "test", "rules", *tests],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=PROMTOOL_TIMEOUT_S,
        check=False,
    )
    output = (done.stdout + done.stderr).strip().splitlines()
    passed = done.returncode == 0
    return Outcome(
        passed,
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


STEP = Step("stack", "6. monitoring stack: render and `promtool test rules`", run)
