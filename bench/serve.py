"""Benchmark: ``mlharness serve`` against MLServer 1.7.1 and against the physical limit.

One model for everyone: projects/rf with its default 100 trees, trained once by
``mlharness run projects/rf --env-manager local`` into a fresh sqlite store and registered
as ``rf-bench@bench`` (``--workdir`` keeps it for the next run). One-row requests, the
first row of the breast cancer data set the model was trained on.

Contenders, all started before the first measurement and idle while another is measured:

- ``ours``: ``mlharness serve models:/rf-bench@bench`` (adaptive batching: 64 rows, 2 ms),
  MLflow's protocol (``dataframe_split`` JSON on ``/invocations``);
- ``ours --no-metrics``: the same without /metrics (the metrics' cost);
- ``ours unbatched``: ``--max-batch-rows 1``;
- ``mlserver batching``: MLServer 1.7.1 + mlserver-mlflow 1.7.1 on the same model
  directory, adaptive batching on (``max_batch_size`` 64, ``max_batch_time`` 2 ms), V2
  protocol (one ``FP64`` input of shape [1] per column on ``/v2/models/rf/infer``);
- ``mlserver``: the same with batching off;
- ``floor``: uvicorn (httptools + uvloop, as ours) with a bare ASGI app that reads the body,
  ``json.loads`` it and answers a constant prediction: the HTTP + JSON floor of any Python
  server on this stack, an endpoint that does no predict.

MLServer lives in bench/.venv-mlserver (created on first use; ``uvloop<0.22`` because its
inference workers crash on uvloop 0.23: "There is no current event loop"). It runs with its
defaults otherwise (one inference worker process beside the HTTP process, its own metrics).

``wrk`` loads each contender at ``-c1`` (``-t1``), ``-c8`` and ``-c64`` (``-t2``), in
alternating rounds (round 1 in one order, round 2 reversed, ...) so a change of load on a
shared machine hits every contender alike; throughput is the mean of the rounds, the
percentiles their median.

The physical limit at concurrency c: every request pays at least the floor's per-request
cost (1 / the floor's req/s at c) plus its share of one predict of a batch of b = min(c, 64)
rows: ``limit = 1 / (1 / floor_rps + predict(b) / b)``. ``predict(b)`` is the model's own
``predict`` on b rows (sklearn, no signature check), measured in a separate process
(the fastest of its repeats: its cost with the least interference). Each server's share
of the limit is printed.

Targets (issue 21): ours ahead of MLServer with batching at -c8 and -c64 (req/s, with a
lower or equal p99); ours >= 50% of the limit at -c64; zero non-2xx; the metrics cost at
most 5% (quiet machine). The metrics' cost is also read as the server's CPU seconds
(user + system, its process tree, from /proc) per answered request, metrics on against off
round by round (``metrics_cpu_cost_c8`` / ``_c64``): a measure that other work on a shared
machine moves far less than req/s. Prints a table and writes bench/results/serve.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# the project's packages first: once bench/ is on sys.path, bench/harness.py shadows harness
from orchestration.processes import NotReady, wait_for_http

sys.path.append(str(Path(__file__).resolve().parent))
from common import BENCH, BIN, REPO, Session, alternate, verdict

MODEL = "rf-bench"
MLSERVER_VENV = BENCH / ".venv-mlserver"
MLSERVER_PINS = [
    "mlserver==1.7.1",
    "mlserver-mlflow==1.7.1",
    "mlflow==3.17.2",
    "scikit-learn==1.9.1",
    "skops==0.16.0",
    "pandas==3.1.1",
    "numpy==2.4.6",
    "uvloop<0.22",
]
BATCH_ROWS = 64
CONTENDERS = (
    "ours",
    "ours --no-metrics",
    "ours unbatched",
    "mlserver batching",
    "mlserver",
    "floor",
)
BATCH_TIME_S = 0.002
CONCURRENCY = ((1, 1), (8, 2), (64, 2))  # (connections, wrk threads)
LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("BENCH_BODY"), "rb")
wrk.body = f:read("*a")
f:close()
"""

FLOOR_APP = '''
"""The HTTP + JSON floor: read the body, json.loads it, answer a constant prediction."""
import json
import sys

import uvicorn

ANSWER = b'{"predictions": [0]}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"20")]


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    if body:
        json.loads(body)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": ANSWER})


uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
'''

PREDICT_COST = """
import json, statistics, sys, time
import mlflow.pyfunc
import pandas as pd
from sklearn.datasets import load_breast_cancer

model = mlflow.pyfunc.load_model(sys.argv[1])
raw = model.get_raw_model()
data = load_breast_cancer(as_frame=True).data
data.columns = [str(c).replace(" ", "_") for c in data.columns]
out = {}
for rows in (1, 8, 64):
    frame = data.head(rows).astype("float64").reset_index(drop=True)
    for name, predict in (("model", raw.predict), ("pyfunc", model.predict)):
        predict(frame)
        times = []
        deadline = time.perf_counter() + 3.0
        while len(times) < 15 or (time.perf_counter() < deadline and len(times) < 200):
            started = time.perf_counter()
            predict(frame)
            times.append(time.perf_counter() - started)
        out[f"{name}_{rows}"] = {"median_s": statistics.median(times), "min_s": min(times),
                                 "repeats": len(times)}
print("RESULT " + json.dumps(out))
"""


# ---------------------------------------------------------------- setup


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
            "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        }
    )
    for key in ("PROMETHEUS_MULTIPROC_DIR", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
        env.pop(key, None)
    return env


def train(workdir: Path) -> str:
    """projects/rf (100 trees) into a store in workdir, registered as rf-bench@bench, and
    its model directory downloaded to workdir/model (MLServer loads it from there)."""
    store = f"sqlite:///{workdir / 'mlflow.db'}"
    if (workdir / "model" / "MLmodel").exists():
        return store
    command = [str(BIN / "mlharness"), "run", str(REPO / "projects" / "rf")]
    command += ["--env-manager", "local", "--json"]
    env = {**_env(store), "MLHARNESS_CACHE_DIR": str(workdir / "cache")}
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"training failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    run_id = json.loads(done.stdout)["run_id"]
    script = (
        "import mlflow\n"
        f"v = mlflow.register_model('runs:/{run_id}/model', '{MODEL}')\n"
        f"mlflow.MlflowClient().set_registered_model_alias('{MODEL}', 'bench', v.version)\n"
        f"mlflow.artifacts.download_artifacts('models:/{MODEL}@bench', dst_path='model')\n"
    )
    subprocess.run(
        [sys.executable, "-c", script], cwd=workdir, env=env, check=True, capture_output=True
    )
    return store


def write_bodies(workdir: Path) -> tuple[Path, Path]:
    """One row in MLflow's ``dataframe_split`` and the same row in the V2 protocol."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).data
    columns = [str(c).replace(" ", "_") for c in frame.columns]
    row = [float(v) for v in frame.iloc[0]]
    ours = workdir / "body-mlflow.json"
    ours.write_text(json.dumps({"dataframe_split": {"columns": columns, "data": [row]}}))
    v2 = workdir / "body-v2.json"
    inputs = [
        {"name": c, "shape": [1], "datatype": "FP64", "data": [v]}
        for c, v in zip(columns, row, strict=True)
    ]
    v2.write_text(json.dumps({"inputs": inputs}))
    return ours, v2


def ensure_mlserver() -> Path:
    """bench/.venv-mlserver with MLServer and the model's own pins (created once)."""
    mlserver = MLSERVER_VENV / "bin" / "mlserver"
    if not mlserver.exists():
        print(f"creating {MLSERVER_VENV.relative_to(REPO)} (MLServer 1.7.1) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(MLSERVER_VENV)], check=True)
        (MLSERVER_VENV / ".gitignore").write_text("*\n")  # never committed
        pip = [str(MLSERVER_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, *MLSERVER_PINS], check=True)
    return mlserver


def predict_cost(workdir: Path) -> dict[str, Any]:
    """The model's predict at 1, 8 and 64 rows, in a process of its own."""
    done = subprocess.run(
        [sys.executable, "-c", PREDICT_COST, str(workdir / "model")],
        capture_output=True,
        text=True,
        env=_env(f"sqlite:///{workdir / 'mlflow.db'}"),
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    raise SystemExit(f"predict cost failed:\n{done.stderr[-3000:]}")


# ---------------------------------------------------------------- servers


@dataclass
class Server:
    name: str
    url: str  # the prediction endpoint
    body: Path
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def start(
    name: str,
    command: list[str],
    *,
    ready: str,
    url: str,
    body: Path,
    workdir: Path,
    env: dict[str, str],
    cwd: Path | None = None,
) -> Server:
    log = workdir / f"server-{re.sub(r'[^a-z0-9]+', '-', name)}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=cwd or workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, url, body, process, log)
    try:
        wait_for_http(ready, 300, watch=process, interval_s=0.5)
    except NotReady as exc:
        server.stop()
        raise SystemExit(f"{name}: {exc.message}\n{log.read_text()[-3000:]}") from None
    return server


def mlserver_dir(workdir: Path, name: str, batching: bool) -> tuple[Path, int]:
    folder = workdir / name
    folder.mkdir(exist_ok=True)
    port = _free_port()
    settings = {
        "host": "127.0.0.1",
        "http_port": port,
        "grpc_port": _free_port(),
        "metrics_port": _free_port(),
        "debug": False,
    }
    model: dict[str, Any] = {
        "name": "rf",
        "implementation": "mlserver_mlflow.MLflowRuntime",
        "parameters": {"uri": str(workdir / "model")},
    }
    if batching:
        model.update({"max_batch_size": BATCH_ROWS, "max_batch_time": BATCH_TIME_S})
    (folder / "settings.json").write_text(json.dumps(settings))
    (folder / "model-settings.json").write_text(json.dumps(model))
    return folder, port


# ---------------------------------------------------------------- load


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    assert match is not None, text
    return float(match.group(1)) * _UNITS[match.group(2)]


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its live descendants (``/proc``)."""
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent, cpu seconds)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK)
    children: dict[int, list[int]] = {}
    for child, (parent, _) in stats.items():
        children.setdefault(parent, []).append(child)
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        if current in stats:
            total += stats[current][1]
        todo.extend(children.get(current, []))
    return total


def wrk(server: Server, lua: Path, threads: int, connections: int, seconds: int) -> dict[str, Any]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["--timeout", "10s", "-s", str(lua), server.url]
    # The server's CPU per answered request: unlike req/s, barely moved by other work on
    # a shared machine (wrk's fixed duration gives varying counts; CPU is divided by them).
    cpu_before = tree_cpu_s(server.process.pid)
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "BENCH_BODY": str(server.body)},
    )
    server_cpu_s = tree_cpu_s(server.process.pid) - cpu_before
    out = done.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    count = re.search(r"(\d+) requests in", out)
    assert rps is not None and count is not None, out
    result: dict[str, Any] = {
        "requests_per_s": float(rps.group(1)),
        "requests": int(count.group(1)),
        "non_2xx": 0,
        "socket_errors": 0,
        "server_cpu_s": server_cpu_s,
        "cpu_us_per_request": server_cpu_s / max(int(count.group(1)), 1) * 1e6,
    }
    for pct in ("50", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        result[f"p{pct}_ms"] = _ms(match.group(1)) if match else None
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        result["non_2xx"] = int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        result["socket_errors"] = sum(int(g) for g in match.groups())
    return result


def combine(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Rounds of one contender: summed counts, mean throughput, median percentiles."""
    total: dict[str, Any] = {
        "requests": sum(p["requests"] for p in parts),
        "non_2xx": sum(p["non_2xx"] for p in parts),
        "socket_errors": sum(p["socket_errors"] for p in parts),
        "requests_per_s": statistics.fmean(p["requests_per_s"] for p in parts),
        "rounds_requests_per_s": [p["requests_per_s"] for p in parts],
        "cpu_us_per_request": statistics.median(p["cpu_us_per_request"] for p in parts),
        "rounds_cpu_us_per_request": [p["cpu_us_per_request"] for p in parts],
    }
    for pct in ("p50_ms", "p90_ms", "p99_ms"):
        values = [p[pct] for p in parts if p[pct] is not None]
        total[pct] = statistics.median(values) if values else None
    return total


# ---------------------------------------------------------------- main


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per level")
    parser.add_argument("--quick", action="store_true", help="3 s runs, 2 rounds (smoke run)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the model here")
    args, _ = parser.parse_known_args(argv)
    if args.quick:
        args.duration, args.rounds = 3, 2
    session = Session("serve")
    keep = args.workdir is not None
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="mlharness-bench-serve-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"model: projects/rf (100 trees) in {workdir} ...", flush=True)
    store = train(workdir)
    mlserver = ensure_mlserver()
    body_ours, body_v2 = write_bodies(workdir)
    lua = workdir / "post.lua"
    lua.write_text(LUA)
    floor_script = workdir / "floor_app.py"
    floor_script.write_text(FLOOR_APP)
    print("predict cost (the model alone, separate process) ...", flush=True)
    cost = predict_cost(workdir)

    env = _env(store)
    uri = f"models:/{MODEL}@bench"
    servers: dict[str, Server] = {}

    def ours(name: str, *extra: str) -> None:
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        command = [str(BIN / "mlharness"), "serve", uri, "--port", str(port), *extra]
        servers[name] = start(
            name,
            command,
            ready=f"{base}/ping",
            url=f"{base}/invocations",
            body=body_ours,
            workdir=workdir,
            env=env,
        )

    def peer(name: str, batching: bool) -> None:
        folder, port = mlserver_dir(workdir, name.replace(" ", "-"), batching)
        base = f"http://127.0.0.1:{port}"
        servers[name] = start(
            name,
            [str(mlserver), "start", str(folder)],
            ready=f"{base}/v2/models/rf/ready",
            url=f"{base}/v2/models/rf/infer",
            body=body_v2,
            workdir=workdir,
            env={**env, "PATH": f"{mlserver.parent}{os.pathsep}{os.environ['PATH']}"},
            cwd=folder,
        )

    def floor() -> None:
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        servers["floor"] = start(
            "floor",
            [sys.executable, str(floor_script), str(port)],
            ready=base,  # any path: the floor answers every request with 200
            url=f"{base}/invocations",
            body=body_ours,
            workdir=workdir,
            env=env,
        )

    rows: dict[str, dict[str, Any]] = {}
    try:
        print("starting the servers ...", flush=True)
        ours("ours")
        ours("ours --no-metrics", "--no-metrics")
        ours("ours unbatched", "--max-batch-rows", "1")
        peer("mlserver batching", True)
        peer("mlserver", False)
        floor()
        for server in servers.values():  # warm-up, and every contender answers 2xx
            warm = wrk(server, lua, 2, 8, 2)
            if warm["non_2xx"] or not warm["requests"]:
                raise SystemExit(f"{server.name} does not answer 2xx: {warm}\n{server.log}")
        for connections, threads in CONCURRENCY:
            contenders: dict[str, Callable[[], dict[str, Any]]] = {
                name: (lambda s=server, t=threads, c=connections: wrk(s, lua, t, c, args.duration))
                for name, server in servers.items()
            }
            parts = alternate(contenders, args.rounds, label=f"-c{connections}")
            for name, results in parts.items():
                rows[f"{name} -c{connections}"] = combine(results)
    finally:
        for server in servers.values():
            server.stop()

    report = summarize(rows, cost)
    print_table(rows, cost, report, args)
    session.write(
        {
            "duration_s": args.duration,
            "rounds": args.rounds,
            "model": "projects/rf, 100 trees (RandomForestClassifier, sklearn 1.9.1)",
            "requests": "one row: MLflow dataframe_split JSON (ours, floor), V2 FP64 (MLServer)",
            "mlserver": {"pins": MLSERVER_PINS, "max_batch_size": BATCH_ROWS},
            "predict_cost": cost,
            "rows": rows,
            **report,
        }
    )
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def summarize(rows: dict[str, dict[str, Any]], cost: dict[str, Any]) -> dict[str, Any]:
    limits: dict[str, Any] = {}
    for connections, _ in CONCURRENCY:
        batch = min(connections, BATCH_ROWS)
        floor_rps = rows[f"floor -c{connections}"]["requests_per_s"]
        # The fastest of the repeats: the predict's own cost with the least interference
        # (a stricter, higher limit than the median on a shared machine).
        per_row = cost[f"model_{batch}"]["min_s"] / batch
        limit = 1.0 / (1.0 / floor_rps + per_row)
        limits[f"c{connections}"] = {
            "batch_rows": batch,
            "floor_rps": floor_rps,
            "predict_per_row_ms": per_row * 1e3,
            "limit_rps": limit,
            "share": {
                name: rows[f"{name} -c{connections}"]["requests_per_s"] / limit
                for name in CONTENDERS
            },
        }

    def rps(name: str, c: int) -> float:
        return float(rows[f"{name} -c{c}"]["requests_per_s"])

    def p99(name: str, c: int) -> float:
        return float(rows[f"{name} -c{c}"]["p99_ms"] or float("nan"))

    targets = {}
    for c in (8, 64):
        ahead = rps("ours", c) > rps("mlserver batching", c) and p99("ours", c) <= p99(
            "mlserver batching", c
        )
        targets[f"ahead_of_mlserver_batching_c{c}"] = {
            "ours_rps": rps("ours", c),
            "mlserver_rps": rps("mlserver batching", c),
            "ratio": rps("ours", c) / rps("mlserver batching", c),
            "ours_p99_ms": p99("ours", c),
            "mlserver_p99_ms": p99("mlserver batching", c),
            "ok": ahead,
        }
    share = limits["c64"]["share"]["ours"]
    targets["share_of_limit_c64"] = {"value": share, "min": 0.5, "ok": share >= 0.5}
    non_2xx = sum(r["non_2xx"] + r["socket_errors"] for k, r in rows.items() if "ours" in k)
    targets["non_2xx_ours"] = {"value": non_2xx, "ok": non_2xx == 0}
    for c in (8, 64):
        metrics_cost = 1 - rps("ours", c) / rps("ours --no-metrics", c)
        targets[f"metrics_cost_c{c}"] = {
            "value": metrics_cost,
            "max": 0.05,
            "ok": metrics_cost <= 0.05,
        }
    for c in (8, 64):
        # CPU per request, metrics on against off, round by round (the two are measured
        # one after the other in each round, so they share that round's load).
        on = rows[f"ours -c{c}"]["rounds_cpu_us_per_request"]
        off = rows[f"ours --no-metrics -c{c}"]["rounds_cpu_us_per_request"]
        cpu_cost = statistics.median(a / b for a, b in zip(on, off, strict=True)) - 1
        targets[f"metrics_cpu_cost_c{c}"] = {
            "value": cpu_cost,
            "on_cpu_us_per_request": statistics.median(on),
            "off_cpu_us_per_request": statistics.median(off),
            "max": 0.05,
            "ok": cpu_cost <= 0.05,
        }
    return {"limits": limits, "targets": targets}


def print_table(
    rows: dict[str, dict[str, Any]],
    cost: dict[str, Any],
    report: dict[str, Any],
    args: argparse.Namespace,
) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=120)
    console.print(
        "predict cost of the model alone (median): "
        + ", ".join(
            f"{b} row{'s' if b > 1 else ''} {cost[f'model_{b}']['median_s'] * 1e3:.2f} ms"
            for b in (1, 8, 64)
        )
        + "; through pyfunc (signature check): "
        + ", ".join(f"{b}: {cost[f'pyfunc_{b}']['median_s'] * 1e3:.2f} ms" for b in (1, 8, 64))
    )
    limits = report["limits"]
    table = Table(
        title=f"one-row requests, projects/rf (100 trees), wrk {args.rounds} x {args.duration} s"
    )
    for column in ("server", "-c", "req/s", "p50 ms", "p99 ms", "non-2xx", "share of limit"):
        table.add_column(column, justify="left" if column == "server" else "right")
    for connections, _ in CONCURRENCY:
        level = limits[f"c{connections}"]
        suffix = f" -c{connections}"
        for key, r in rows.items():
            if not key.endswith(suffix):
                continue
            name = key[: -len(suffix)]
            share = level["share"].get(name)
            table.add_row(
                name,
                str(connections),
                f"{r['requests_per_s']:.0f}",
                f"{r['p50_ms']:.1f}",
                f"{r['p99_ms']:.1f}",
                str(r["non_2xx"] + r["socket_errors"]),
                f"{share:.0%}" if share is not None else "-",
            )
        table.add_row(
            "[b]limit[/b]",
            str(connections),
            f"{level['limit_rps']:.0f}",
            "",
            "",
            "",
            f"floor {level['floor_rps']:.0f}/s + predict {level['predict_per_row_ms']:.3f} ms/row",
        )
    console.print(table)
    for name, target in report["targets"].items():
        shown = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in target.items()}
        console.print(f"{name}: {shown} -> {verdict(bool(target['ok']))}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
