"""Benchmark: where one ``/invocations`` request's time goes in ``mlharness serve``, stage by
stage, in process, for batches of 1, 8, 32 and 64 one-row requests.

The same projects/rf model (100 trees) as bench/serve.py (trained and registered by it;
``--workdir`` keeps it), loaded as the server loads it (``model_slot.load_version``); the
server's own functions, in the order a batch meets them:

- parse: ``parsing.parse_request`` of each request's body (MLflow's ``dataframe_split`` JSON);
- cast: ``parsing.merge_requests``: the batch's rows into one frame of the signature's
  double columns (MLflow's parse + ``astype`` per column, replaced by one ``np.array``);
- signature enforcement: what ``PyFuncModel.predict`` costs over the model's own predict on
  that frame; the server skips it for such checked input of an ``mlflow.sklearn`` model, so
  it is printed, not counted;
- predict: ``batching.predict_data`` (scikit-learn's ``predict``);
- answer: ``parsing.split_predictions`` and ``parsing.predictions_json`` of each request;
- metrics: ``ServerMetrics.predicted`` for the batch, and ``request_started`` /
  ``request_done`` for each request (what ``--no-metrics`` leaves out);
- HTTP: not timed here; the floor server's time per request in the last bench/serve.py run
  (``bench/results/serve.json``: uvicorn + ``json.loads``, no predict) when that file exists.

Each stage is repeated for about ``--seconds`` and its median taken; per request = per batch
/ rows. Prints a table and writes bench/results/serve-stages.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

# the project's packages first: once bench/ is on sys.path, bench/harness.py shadows harness
import orchestration.serving.batching
import orchestration.serving.metrics  # noqa: F401

sys.path.append(str(Path(__file__).resolve().parent))
from common import RESULTS, Session
from serve import MODEL, train, write_bodies

BATCHES = (1, 8, 32, 64)


def _median_s(work: Callable[[], object], seconds: float) -> float:
    work()
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < 20 or (time.perf_counter() < deadline and len(times) < 2000):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _loaded(store: str) -> Any:
    """The model as ``mlharness serve`` loads it (``resolve_version`` + ``load_version``)."""
    from harness.store import mlflow_boundary
    from orchestration.serving.model_slot import load_version, resolve_version

    client = mlflow_boundary.client(mlflow_boundary.connect(store))
    return load_version(resolve_version(client, MODEL, "bench", None), client)


def _floor_us() -> dict[str, float]:
    """The floor server's wall per request at each concurrency of the last serve bench."""
    path = RESULTS / "serve.json"
    if not path.exists():
        return {}
    rows = json.loads(path.read_text()).get("rows", {})
    found = {}
    for key, row in rows.items():
        if key.startswith("floor -c") and row.get("requests_per_s"):
            found[key.removeprefix("floor ")] = 1e6 / float(row["requests_per_s"])
    return found


def measure(model: Any, body: bytes, rows: int, seconds: float) -> dict[str, float]:
    """Median seconds per batch of ``rows`` one-row requests, stage by stage."""
    from orchestration.serving.batching import predict_data
    from orchestration.serving.metrics import ServerMetrics
    from orchestration.serving.parsing import (
        merge_requests,
        parse_request,
        predictions_json,
        split_predictions,
    )

    parsed = [parse_request(body, "application/json", model) for _ in range(rows)]
    frame, checked = merge_requests(parsed, model)
    predictions = predict_data(model, frame, None, checked)
    metrics = ServerMetrics()
    metrics.serving(model, 10_000)

    def answer() -> None:
        for part in split_predictions(predictions, [1] * rows) or []:
            predictions_json(part)

    def count() -> None:
        for _ in range(rows):
            metrics.request_started()
        metrics.predicted(model, frame, predictions, rows)
        for _ in range(rows):
            metrics.request_done("/invocations", 200, 0.01)

    stages = {
        "parse": lambda: [parse_request(body, "application/json", model) for _ in range(rows)],
        "cast": lambda: merge_requests(parsed, model),
        "predict": lambda: predict_data(model, frame, None, checked),
        "answer": answer,
        "metrics": count,
    }
    found = {name: _median_s(work, seconds) for name, work in stages.items()}
    pyfunc_s = _median_s(lambda: model.pyfunc.predict(frame), seconds)
    found["signature enforcement (skipped)"] = max(pyfunc_s - found["predict"], 0.0)
    found["checked"] = float(checked)
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per stage and batch")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the model here")
    parser.add_argument("--quick", action="store_true", help="0.2 s per stage (smoke run)")
    args, _ = parser.parse_known_args(argv)
    if args.quick:
        args.seconds = 0.2
    session = Session("serve-stages")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="mlharness-bench-stages-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"model: projects/rf (100 trees) in {workdir} ...", flush=True)
    store = train(workdir)
    body = write_bodies(workdir)[0].read_bytes()
    model = _loaded(store)
    batches = {rows: measure(model, body, rows, args.seconds) for rows in BATCHES}
    if not all(b["checked"] for b in batches.values()):
        raise SystemExit("the fast parse did not check the batch: the stages are not the server's")
    floor = _floor_us()
    counted = ("parse", "cast", "predict", "answer", "metrics")
    table = Table(title="us per request, median; a batch of N one-row requests")
    table.add_column("stage")
    for rows in BATCHES:
        table.add_column(f"N={rows}", justify="right")
    per_request = {
        rows: {k: v / rows * 1e6 for k, v in b.items() if k != "checked"}
        for rows, b in batches.items()
    }
    for stage in (*counted, "signature enforcement (skipped)"):
        table.add_row(stage, *(f"{per_request[r][stage]:,.1f}" for r in BATCHES))
    table.add_row(
        "sum of the counted", *(f"{sum(per_request[r][s] for s in counted):,.1f}" for r in BATCHES)
    )
    Console().print(table)
    if floor:
        print(
            "HTTP + JSON floor (bench/results/serve.json, wall per request): "
            + ", ".join(f"{k} {v:,.0f} us" for k, v in floor.items())
        )
    session.write(
        {
            "model": "projects/rf, 100 trees",
            "seconds_per_stage": args.seconds,
            "per_batch_s": {str(r): b for r, b in batches.items()},
            "per_request_us": {str(r): v for r, v in per_request.items()},
            "floor_us_per_request": floor,
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
