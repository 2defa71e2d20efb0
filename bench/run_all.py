"""``make bench``: run every benchmark script in bench/ one after another.

Each script measures ours and the baseline in the same run, prints a ratio table and
writes JSON under bench/results/. Extra arguments are passed to every script.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(p for p in BENCH.glob("*.py") if p.name not in {"run_all.py", "__init__.py"})
    failures = 0
    for script in scripts:
        print(f"\n=== bench/{script.name} ===", flush=True)
        # -P: bench/harness.py must not shadow the harness package for the others.
        command = [sys.executable, "-P", str(script), *argv]
        failures += subprocess.run(command, check=False).returncode != 0
    print(f"\n{len(scripts) - failures} benchmarks ran, {failures} failed; JSON in bench/results/")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
