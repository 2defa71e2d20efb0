"""``make demo``: run the example projects end to end on the default tracking store.

Each project goes through the run operation (``harness.operations.run``), the same function
``mlharness run`` calls, so the demo's runs carry a manifest and a cache key like any other;
``force`` makes every ``make demo`` a fresh run. The runs are then read back from the store
and printed. The tracking store is MLflow's default (``sqlite:///mlflow.db`` in the working
directory) unless ``MLFLOW_TRACKING_URI`` says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from rich.console import Console
from rich.table import Table

from harness.operations.run import RunRequest, run

__all__ = ["DEMO_RUNS", "REPO", "DemoRun", "launch", "main"]

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DemoRun:
    """One run of the demo: a project under ``projects/``, its parameters, its experiment."""

    project: str
    params: dict[str, str]
    experiment: str


DEMO_RUNS = [
    DemoRun("rf", {"n_estimators": "200", "max_depth": "5"}, "demo-rf"),
    DemoRun("torch_mlp", {"epochs": "20", "hidden_units": "32"}, "demo-torch-mlp"),
]


def launch(demo: DemoRun, console: Console) -> str:
    """Run one project through the run operation (``--env-manager local``); its run id."""
    shown = " ".join(f"-P {name}={value}" for name, value in demo.params.items())
    console.rule(f"mlharness run projects/{demo.project}")
    console.print(
        f"run projects/{demo.project} {shown} --env-manager local "
        f"--experiment-name {demo.experiment} --force",
        style="dim",
    )
    result = run(
        RunRequest(
            str(REPO / "projects" / demo.project),
            params=demo.params,
            env_manager="local",
            experiment_name=demo.experiment,
            force=True,
        )
    )
    return str(result.run_id)  # never None: not a dry run


def main() -> None:
    """Run every demo project and print a table of run ids and metrics."""
    console = Console()
    console.print(f"tracking store: {mlflow.get_tracking_uri()}")
    results = [(demo, launch(demo, console)) for demo in DEMO_RUNS]

    client = MlflowClient()
    table = Table(title="demo runs")
    table.add_column("project")
    table.add_column("run id", no_wrap=True, min_width=32)
    table.add_column("status", no_wrap=True)
    table.add_column("metrics")
    for demo, run_id in results:
        info = client.get_run(run_id)
        metrics = ", ".join(f"{k}={v:.4f}" for k, v in sorted(info.data.metrics.items()))
        table.add_row(demo.project, run_id, info.info.status, metrics)
    console.print(table)
    uri = mlflow.get_tracking_uri()  # already honours MLFLOW_TRACKING_URI
    console.print(
        "Look at the runs: "
        f"[bold].venv/bin/mlflow ui --backend-store-uri {uri} --host 127.0.0.1 --port 5000[/bold]"
        " then open http://127.0.0.1:5000"
    )


if __name__ == "__main__":
    main()
