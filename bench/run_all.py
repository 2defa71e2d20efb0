"""``make bench``: run every benchmark script in bench/ one after another.

Each script measures ours and the baseline in the same run (alternating rounds), prints
the machine's load before and after and a ratio table, and writes JSON under
bench/results/ (bench/common.py holds what they share). Extra arguments (``--quick`` for
a smoke run) are passed to every script. The load before and after the whole run is
printed last: figures count as idle-machine figures only below a 1-minute load of 0.5.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    skip = {"run_all.py", "common.py", "__init__.py"}
    scripts = sorted(p for p in BENCH.glob("*.py") if p.name not in skip)
    before = [round(x, 2) for x in os.getloadavg()]
    print(f"load before the benchmarks: {before}", flush=True)
    failures = 0
    for script in scripts:
        print(f"\n=== bench/{script.name} ===", flush=True)
        # -P: bench/harness.py must not shadow the harness package for the others.
        command = [sys.executable, "-P", str(script), *argv]
        failures += subprocess.run(command, check=False).returncode != 0
    after = [round(x, 2) for x in os.getloadavg()]
    print(f"\n{len(scripts) - failures} benchmarks ran, {failures} failed; JSON in bench/results/")
    print(f"load before {before}, after {after} (quiet below 0.5)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
