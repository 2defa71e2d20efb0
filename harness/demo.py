"""``make demo``: run the example projects end to end on the default tracking store.

Runs each project through the real ``mlflow run`` command (the same thing a user
types), then reads the runs back from the store and prints their ids and metrics.
The tracking store is MLflow's default (``sqlite:///mlflow.db`` in the working
directory) unless ``MLFLOW_TRACKING_URI`` says otherwise.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from rich.console import Console
from rich.table import Table

__all__ = [
    "DEMO_RUNS",
    "REPO",
    "DemoRun",
    "launch",
    "main",
]

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DemoRun:
    """One ``mlflow run`` invocation of the demo."""

    project: str
    params: dict[str, str]
    experiment: str


DEMO_RUNS = [
    DemoRun("rf", {"n_estimators": "200", "max_depth": "5"}, "demo-rf"),
    DemoRun("torch_mlp", {"epochs": "20", "hidden_units": "32"}, "demo-torch-mlp"),
]


def launch(run: DemoRun, console: Console) -> str:
    """Run one project with ``mlflow run`` and return its run id."""
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "run",
        str(REPO / "projects" / run.project),
        "--env-manager",
        "local",
        "--experiment-name",
        run.experiment,
    ]
    for name, value in run.params.items():
        command += ["-P", f"{name}={value}"]
    console.rule(f"mlflow run projects/{run.project}")
    console.print(" ".join(command[2:]), style="dim")
    client = MlflowClient()
    before = _run_ids(client, run.experiment)
    subprocess.run(command, check=True)
    new = _run_ids(client, run.experiment) - before
    if len(new) != 1:
        raise RuntimeError(f"expected one new run in {run.experiment}, found {len(new)}")
    return new.pop()


def _run_ids(client: MlflowClient, experiment_name: str) -> set[str]:
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        return set()
    return {
        r.info.run_id for r in client.search_runs([experiment.experiment_id], max_results=10000)
    }


def main() -> None:
    """Run every demo project and print a table of run ids and metrics."""
    console = Console()
    console.print(f"tracking store: {mlflow.get_tracking_uri()}")
    results = [(run, launch(run, console)) for run in DEMO_RUNS]

    client = MlflowClient()
    table = Table(title="demo runs")
    table.add_column("project")
    table.add_column("run id", no_wrap=True, min_width=32)
    table.add_column("status", no_wrap=True)
    table.add_column("metrics")
    for run, run_id in results:
        info = client.get_run(run_id)
        metrics = ", ".join(f"{k}={v:.4f}" for k, v in sorted(info.data.metrics.items()))
        table.add_row(run.project, run_id, info.info.status, metrics)
    console.print(table)
    uri = mlflow.get_tracking_uri()  # already honours MLFLOW_TRACKING_URI
    console.print(
        "Look at the runs: "
        f"[bold].venv/bin/mlflow ui --backend-store-uri {uri} --host 127.0.0.1 --port 5000[/bold]"
        " then open http://127.0.0.1:5000"
    )


if __name__ == "__main__":
    main()
