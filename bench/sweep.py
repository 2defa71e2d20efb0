"""Benchmark: ``mlharness sweep --jobs 2`` against a sequential shell loop of bare
``mlflow run --env-manager local`` over the same 8-trial grid of projects/rf.

Measured in one invocation, each side on a fresh sqlite store (and a fresh hit memo):
- the shell loop: one ``mlflow run`` per grid point, one after the other;
- the first sweep (``--jobs 2``): every trial a new child run;
- the cached re-sweep: the same command again, every trial answered from the run cache;
- the sweep's own overhead per trial: dispatch-to-result in the sweep minus the run
  operation's time inside the worker (scheduling, process hand-off, bookkeeping).
Targets from the issue: >= 1.7x faster than the loop, re-sweep <= 5 % of the first sweep,
overhead < 0.5 s per trial. Writes bench/results/sweep.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = REPO / "bench" / "results" / "sweep.json"
GRID = {"n_estimators": ["20", "40"], "max_depth": ["3", "6"], "min_samples_leaf": ["1", "2"]}


def _env(store: str, cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "MLFLOW_TRACKING_URI": store,
            "PATH": f"{BIN}{os.pathsep}{env['PATH']}",
            "PYTHONWARNINGS": "ignore",
            "MLHARNESS_CACHE_DIR": str(cache),
        }
    )
    env.pop("MLFLOW_EXPERIMENT_NAME", None)
    env.pop("MLFLOW_RUN_ID", None)
    return env


def _timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed, done.stdout


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default=str(REPO / "projects" / "rf"))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    points = [dict(zip(GRID, combo, strict=True)) for combo in itertools.product(*GRID.values())]
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        root = Path(tmp)
        loop_dir, sweep_dir = root / "loop", root / "sweep"
        loop_dir.mkdir()
        sweep_dir.mkdir()
        loop_env = _env(f"sqlite:///{loop_dir / 'mlflow.db'}", root / "cache-loop")
        loop_s = 0.0
        for point in points:
            command = [str(BIN / "mlflow"), "run", args.project, "--env-manager", "local"]
            command += [arg for k, v in point.items() for arg in ("-P", f"{k}={v}")]
            loop_s += _timed(command, loop_dir, loop_env)[0]
        sweep_env = _env(f"sqlite:///{sweep_dir / 'mlflow.db'}", root / "cache-sweep")
        command = [str(BIN / "mlharness"), "sweep", args.project, "--env-manager", "local"]
        command += [arg for k, v in GRID.items() for arg in ("-P", f"{k}={','.join(v)}")]
        command += ["--jobs", str(args.jobs), "--metric", "accuracy", "--json"]
        first_s, first_out = _timed(command, sweep_dir, sweep_env)
        cached_s, cached_out = _timed(command, sweep_dir, sweep_env)
    first: dict[str, Any] = json.loads(first_out)
    cached: dict[str, Any] = json.loads(cached_out)
    overheads = [
        t["elapsed_s"] - t["run_s"]
        for t in first["trials"]
        if t["elapsed_s"] is not None and t["run_s"] is not None
    ]
    speedup = loop_s / first_s
    cached_ratio = cached_s / first_s
    overhead = statistics.mean(overheads)
    result = {
        "project": args.project,
        "grid": GRID,
        "trials": len(points),
        "jobs": args.jobs,
        "loop_s": round(loop_s, 3),
        "sweep_s": round(first_s, 3),
        "sweep_internal_s": first["wall_s"],
        "cached_sweep_s": round(cached_s, 3),
        "cached_trials": cached["counts"]["cached"],
        "speedup": round(speedup, 3),
        "cached_ratio": round(cached_ratio, 4),
        "overhead_per_trial_s": {
            "mean": round(overhead, 3),
            "max": round(max(overheads), 3),
            "all": [round(o, 3) for o in overheads],
        },
        "targets": {"speedup_min": 1.7, "cached_ratio_max": 0.05, "overhead_max_s": 0.5},
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    table = Table(title=f"8-trial grid of projects/rf: mlharness sweep --jobs {args.jobs}")
    for column in ("measure", "baseline", "mlharness", "ratio / target", "ok"):
        table.add_column(column)
    table.add_row(
        "8 trials",
        f"{loop_s:.1f} s (mlflow run loop)",
        f"{first_s:.1f} s",
        f"{speedup:.2f}x (>= 1.7x)",
        "yes" if speedup >= 1.7 else "NO",
    )
    table.add_row(
        "cached re-sweep",
        f"{first_s:.1f} s (first sweep)",
        f"{cached_s:.2f} s",
        f"{cached_ratio:.1%} (<= 5%)",
        "yes" if cached_ratio <= 0.05 else "NO",
    )
    table.add_row(
        "overhead per trial",
        "",
        f"{overhead:.3f} s (max {max(overheads):.3f})",
        "< 0.5 s",
        "yes" if overhead < 0.5 else "NO",
    )
    Console().print(table)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp_file = RESULTS.with_suffix(".tmp")
    tmp_file.write_text(json.dumps(result, indent=2) + "\n")
    tmp_file.replace(RESULTS)
    print(f"wrote {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
