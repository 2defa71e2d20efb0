"""``make bench``: run every benchmark script in bench/ one after another.

Each script measures ours and the baseline in the same run (alternating rounds), prints
the machine's load before and after and a ratio table, and writes JSON under
bench/results/ (bench/common.py holds what they share). Extra arguments (``--quick`` for
a smoke run) are passed to every script. The load before and after the whole run is
printed last: figures count as idle-machine figures only below a 1-minute load of 0.5.

``--docs`` runs only what the targets table of docs/benchmarks.md needs (issue 21), with
the arguments that table was defined with: serving against MLServer (and where a request's
time goes, stage by stage, for the README), drift at 100k and 1M
rows (not 10k and 10M), the sweep's efficiency and speed-up, the cached run. It is the
one command for a quiet-machine run (``make bench-docs``); the wall time of each script
is printed at the end so the next run can be planned.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent

# Script -> its arguments for the docs' targets table (``--docs``).
DOCS: dict[str, list[str]] = {
    "serve.py": [],
    "serve_stages.py": [],  # after serve.py (sorted): it reads that run's floor
    "drift.py": ["--rows", "100000", "1000000"],
    "sweep.py": [],
    "harness.py": ["--cached-only"],
}


def main(argv: list[str]) -> int:
    docs = "--docs" in argv
    argv = [a for a in argv if a != "--docs"]
    skip = {"run_all.py", "common.py", "__init__.py"}
    scripts = sorted(p for p in BENCH.glob("*.py") if p.name not in skip)
    if docs:
        scripts = [p for p in scripts if p.name in DOCS]
    before = [round(x, 2) for x in os.getloadavg()]
    print(f"load before the benchmarks: {before}", flush=True)
    failures: list[str] = []
    walls: dict[str, float] = {}
    for script in scripts:
        extra = DOCS[script.name] if docs else []
        print(f"\n=== bench/{script.name} {' '.join([*extra, *argv])} ===", flush=True)
        # -P: bench/harness.py must not shadow the harness package for the others.
        command = [sys.executable, "-P", str(script), *extra, *argv]
        started = time.perf_counter()
        if subprocess.run(command, check=False).returncode != 0:
            failures.append(script.name)
        walls[script.name] = time.perf_counter() - started
    after = [round(x, 2) for x in os.getloadavg()]
    print(f"\n{len(scripts) - len(failures)} benchmarks ran, {len(failures)} failed", end="")
    print(f" ({', '.join(failures)})" if failures else "", end="")
    print("; JSON in bench/results/")
    print("wall time: " + ", ".join(f"{name} {s / 60:.1f} min" for name, s in walls.items()))
    print(f"total {sum(walls.values()) / 60:.1f} min")
    print(f"load before {before}, after {after} (quiet below 0.5)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
