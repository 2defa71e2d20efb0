"""Benchmark: ``mlharness serve`` against ``mlflow models serve`` on the same model.

The model is projects/rf with its default 100 trees, trained once by ``mlharness run
projects/rf --env-manager local`` into a fresh sqlite store and registered with an alias.
Each server is started alone (the others stopped, so they do not share the two cores),
warmed up, then loaded by ``wrk`` with one-row ``dataframe_split`` JSON requests (a Lua
script makes them POSTs) on 127.0.0.1:

- ``-t2 -c8``: mlflow, ours, ours with ``--no-metrics`` (the metrics' cost);
- ``-t1 -c1``: mlflow, ours, and ours with ``--max-batch-rows 1`` (an unbatched server:
  batching must not add latency without concurrency, p50 within 10%);
- ``-t2 -c64``: mlflow and ours.

mlflow is measured alone. Ours and its two variants are started together; each compared
pair (ours vs --no-metrics at -c8, ours vs --max-batch-rows 1 at -c1) runs in three
alternating rounds of a third of the duration, so a change of load on a shared machine
hits both sides alike (throughput: mean of the rounds; percentiles: median).

Targets from the issue: at -c8 at least 5x mlflow's requests/s with a lower p99 and zero
non-2xx answers; metrics cost at most 5% of throughput. Prints a table and writes
bench/results/serve.json. MLServer is not measured: it would need its own venv and a
package install, which this machine's rules leave to the lead.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = REPO / "bench" / "results" / "serve.json"
MODEL = "rf-bench"
LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("BENCH_BODY"), "rb")
wrk.body = f:read("*a")
f:close()
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(store: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "MLFLOW_TRACKING_URI": store,
            "PATH": f"{BIN}{os.pathsep}{env['PATH']}",
            "PYTHONWARNINGS": "ignore",
        }
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def train(workdir: Path) -> str:
    """projects/rf (100 trees) into a fresh store, registered as rf-bench@bench."""
    store = f"sqlite:///{workdir / 'mlflow.db'}"
    command = [
        str(BIN / "mlharness"),
        "run",
        str(REPO / "projects" / "rf"),
        "--env-manager",
        "local",
        "--json",
    ]
    done = subprocess.run(
        command, cwd=workdir, env=_env(store), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"training failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    run_id = json.loads(done.stdout)["run_id"]
    script = (
        "import mlflow, sys\n"
        f"v = mlflow.register_model('runs:/{run_id}/model', '{MODEL}')\n"
        f"mlflow.MlflowClient().set_registered_model_alias('{MODEL}', 'bench', v.version)\n"
    )
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=workdir,
        env=_env(store),
        check=True,
        capture_output=True,
    )
    return store


def write_body(workdir: Path) -> Path:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).data
    frame.columns = [str(c).replace(" ", "_") for c in frame.columns]
    split = json.loads(frame.head(1).to_json(orient="split", index=False))
    body = workdir / "body.json"
    body.write_text(json.dumps({"dataframe_split": split}))
    return body


class Server:
    def __init__(self, command: list[str], port: int, store: str, workdir: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = workdir / f"server-{port}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=workdir,
                env=_env(store),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{command[:3]} exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise SystemExit(f"{command[:3]} did not come up")

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip()).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(
    url: str, body: Path, lua: Path, threads: int, connections: int, seconds: int
) -> dict[str, Any]:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(lua),
        f"{url}/invocations",
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "BENCH_BODY": str(body)},
    )
    out = done.stdout
    result: dict[str, Any] = {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "non_2xx": 0,
        "socket_errors": 0,
    }
    for pct in ("50", "75", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        result[f"p{pct}_ms"] = _ms(match.group(1)) if match else None
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        result["non_2xx"] = int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        result["socket_errors"] = sum(int(g) for g in match.groups())
    return result


def _combine(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Rounds of one server: summed counts, throughput over all, median percentiles."""
    import statistics

    total = {
        "requests": sum(p["requests"] for p in parts),
        "non_2xx": sum(p["non_2xx"] for p in parts),
        "socket_errors": sum(p["socket_errors"] for p in parts),
        "requests_per_s": statistics.fmean(p["requests_per_s"] for p in parts),
        "rounds": len(parts),
    }
    for pct in ("p50_ms", "p75_ms", "p90_ms", "p99_ms"):
        total[pct] = statistics.median(p[pct] for p in parts)
    return total


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=30, help="seconds per wrk run")
    args, _ = parser.parse_known_args(argv)
    console = Console()
    workdir = Path(tempfile.mkdtemp(prefix="mlharness-bench-serve-"))
    console.print(f"training projects/rf (100 trees) in {workdir} ...")
    store = train(workdir)
    body = write_body(workdir)
    lua = workdir / "post.lua"
    lua.write_text(LUA)
    uri = f"models:/{MODEL}@bench"

    def mlflow_cmd(port: int) -> list[str]:
        return [
            str(BIN / "mlflow"),
            "models",
            "serve",
            "-m",
            uri,
            "--env-manager",
            "local",
            "-p",
            str(port),
            "--host",
            "127.0.0.1",
        ]

    def ours_cmd(*extra: str) -> Any:
        return lambda port: [str(BIN / "mlharness"), "serve", uri, "--port", str(port), *extra]

    rows: dict[str, dict[str, Any]] = {}
    # mlflow alone: it is the slow baseline and must not share the cores with ours.
    port = _free_port()
    console.print("starting mlflow models serve ...")
    server = Server(mlflow_cmd(port), port, store, workdir)
    try:
        wrk(server.url, body, lua, 2, 8, 3)  # warm-up
        for threads, connections in ((2, 8), (1, 1), (2, 64)):
            key = f"mlflow -c{connections}"
            rows[key] = wrk(server.url, body, lua, threads, connections, args.duration)
            console.print(f"  {key}: {rows[key]['requests_per_s']:.1f} req/s")
    finally:
        server.stop()
    # Ours and its two variants side by side (idle while another is measured); the pairs
    # that are compared with each other run in alternating rounds, so a change of load on
    # the shared machine hits both sides alike.
    variants = {
        "ours": ours_cmd(),
        "ours --max-batch-rows 1": ours_cmd("--max-batch-rows", "1"),
        "ours --no-metrics": ours_cmd("--no-metrics"),
    }
    started: dict[str, Server] = {}
    try:
        for name, command in variants.items():
            port = _free_port()
            console.print(f"starting {name} ...")
            started[name] = Server(command(port), port, store, workdir)
            wrk(started[name].url, body, lua, 2, 8, 3)  # warm-up
        key = "ours -c64"
        rows[key] = wrk(started["ours"].url, body, lua, 2, 64, args.duration)
        console.print(f"  {key}: {rows[key]['requests_per_s']:.1f} req/s")
        rounds = 3
        pairs = [
            (("ours", "ours --no-metrics"), (2, 8)),
            (("ours", "ours --max-batch-rows 1"), (1, 1)),
        ]
        for names, (threads, connections) in pairs:
            parts: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
            for _ in range(rounds):
                for name in names:
                    parts[name].append(
                        wrk(
                            started[name].url,
                            body,
                            lua,
                            threads,
                            connections,
                            max(1, args.duration // rounds),
                        )
                    )
            for name in names:
                key = f"{name} -c{connections}"
                rows[key] = _combine(parts[name])
                console.print(f"  {key}: {rows[key]['requests_per_s']:.1f} req/s")
    finally:
        for server in started.values():
            server.stop()

    def ratio(a: str, b: str, field: str) -> float:
        return rows[a][field] / rows[b][field] if rows[b][field] else float("nan")

    summary = {
        "throughput_x_mlflow_c8": ratio("ours -c8", "mlflow -c8", "requests_per_s"),
        "throughput_x_mlflow_c64": ratio("ours -c64", "mlflow -c64", "requests_per_s"),
        "p99_ours_over_mlflow_c8": ratio("ours -c8", "mlflow -c8", "p99_ms"),
        "p50_c1_ours_over_unbatched": ratio("ours -c1", "ours --max-batch-rows 1 -c1", "p50_ms"),
        "metrics_cost_c8": 1 - ratio("ours -c8", "ours --no-metrics -c8", "requests_per_s"),
        "non_2xx_ours": sum(r["non_2xx"] for k, r in rows.items() if k.startswith("ours")),
    }
    table = Table(title=f"one-row requests, wrk -d{args.duration}s, projects/rf (100 trees)")
    for column in ("server", "req/s", "p50 ms", "p90 ms", "p99 ms", "non-2xx", "errors"):
        table.add_column(column, justify="right" if column != "server" else "left")
    for key, r in rows.items():
        table.add_row(
            key,
            f"{r['requests_per_s']:.1f}",
            f"{r['p50_ms']:.1f}",
            f"{r['p90_ms']:.1f}",
            f"{r['p99_ms']:.1f}",
            str(r["non_2xx"]),
            str(r["socket_errors"]),
        )
    console.print(table)
    for key, value in summary.items():
        console.print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
    result = {
        "duration_s": args.duration,
        "model": "projects/rf, 100 trees",
        "request": "one-row dataframe_split JSON",
        "load_average": os.getloadavg(),
        "rows": rows,
        "summary": summary,
        "mlserver": "not measured: needs its own venv and a package install",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(RESULTS)
    console.print(f"wrote {RESULTS.relative_to(REPO)}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
