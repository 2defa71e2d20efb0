"""``python -m registry_tools.demo``: train two rf configurations, promote the better one.

Both configurations run through the real ``mlflow run projects/rf --env-manager local``;
both are registered as ``rf``; each is offered to ``champion`` through the same gates, so
the first becomes champion (nothing to beat yet) and the second replaces it only if it is
at least as good. Finally ``models:/rf@champion`` is loaded and predicts. The tracking
store is MLflow's default (``sqlite:///mlflow.db`` in the working directory) unless
``MLFLOW_TRACKING_URI`` says otherwise.
"""

from __future__ import annotations

import tempfile

from rich.console import Console

from harness.demo import DemoRun, launch
from registry_tools import aliases, catalog, render, versions
from registry_tools.client import Registry
from registry_tools.promote import PromotionRequest, promote

__all__ = ["CONFIGS", "GATES", "MODEL", "main", "offer"]

MODEL = "rf"
EXPERIMENT = "demo-registry"
CONFIGS = [
    DemoRun("rf", {"n_estimators": "5", "max_depth": "2"}, EXPERIMENT),
    DemoRun("rf", {"n_estimators": "100", "max_depth": "8"}, EXPERIMENT),
]
GATES = ["accuracy>=0.9", "f1>=champion.f1", "roc_auc>=champion.roc_auc"]


def offer(registry: Registry, version: str, console: Console) -> None:
    """Point ``challenger`` at ``version`` and try to promote it to ``champion``."""
    aliases.set_alias(registry, MODEL, "challenger", version)
    request = PromotionRequest(MODEL, "champion", GATES, from_alias="challenger")
    result = promote(registry, request)
    console.print(render.gate_table(f"promote {MODEL} v{version} to champion", result.plan.results))
    refusal = result.refusal()
    if refusal is not None:
        console.print(f"[yellow]refused (exit code {int(refusal.exit_code)}): {refusal.message}")
    elif result.record is None:
        console.print(f"version {version} already is champion")
    else:
        console.print(
            f"[green]champion: {result.record.previous or 'unset'} -> {result.record.version}"
        )


def main() -> None:
    import mlflow
    import pandas as pd

    console = render.console()
    registry = Registry()
    console.print(f"tracking store: {registry.tracking_uri}")
    run_ids = [launch(config, console) for config in CONFIGS]

    console.rule("register and promote")
    for run_id in run_ids:
        registered = versions.register(registry, run_id, MODEL)
        assert registered.version is not None
        console.print(f"registered run {run_id} as {MODEL} version {registered.version.version}")
        offer(registry, registered.version.version, console)

    view = catalog.show(registry, MODEL)
    console.print(render.versions_table(MODEL, view.versions[:4]))

    console.rule(f"models:/{MODEL}@champion")
    champion = registry.holder(MODEL, "champion")
    with tempfile.TemporaryDirectory() as tmp:
        csv = registry.download_artifact(run_ids[0], "data/test.csv", tmp)
        frame = pd.read_csv(csv).head(8)
    model = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
    predicted = model.predict(frame.drop(columns=["target"]))
    console.print(f"loaded models:/{MODEL}@champion (version {champion})")
    console.print(f"predicted: {list(map(int, predicted))}")
    console.print(f"actual:    {list(map(int, frame['target']))}")
    console.print(
        f"Try: [bold].venv/bin/mlharness registry show {MODEL}[/bold] and "
        f"[bold].venv/bin/mlharness registry rollback {MODEL} --alias champion --dry-run[/bold]"
    )


if __name__ == "__main__":
    main()
