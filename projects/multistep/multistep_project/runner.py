"""Run one step in its own MLflow run, or hand back an earlier run that can stand in for it."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from multistep_project import keys
from multistep_project.params import ENTRY_POINTS, fail

STEP_TAG = "multistep.step"


@dataclass(frozen=True)
class StepRun:
    """Which run holds a step's outputs, and whether it was reused rather than run now."""

    step: str
    run_id: str
    reused: bool


def download(name: str, uri: str, workdir: Path) -> Path:
    """Fetch the artifacts behind parameter ``name``; a bad URI is the parameter's fault."""
    (workdir / name).mkdir(parents=True, exist_ok=True)
    try:
        return Path(mlflow.artifacts.download_artifacts(uri, dst_path=str(workdir / name)))
    except (MlflowException, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        accepted = next(spec[name] for spec in ENTRY_POINTS.values() if name in spec).accepted
        fail(f"parameter {name}: cannot read {uri} ({reason}); accepted: {accepted}")


def logged_model_uri(run_id: str, name: str = "model") -> str:
    """``models:/m-<id>`` of the model ``name`` that run ``run_id`` logged (the newest)."""
    client = MlflowClient()
    run = client.get_run(run_id)
    found = [
        (output.step, output.model_id)
        for output in (run.outputs.model_outputs if run.outputs else [])
        if client.get_logged_model(output.model_id).name == name
    ]
    if not found:
        raise RuntimeError(f"run {run_id} logged no model named {name!r}")
    return f"models:/{max(found)[1]}"


def find_reusable(experiment_id: str, key: str) -> str | None:
    """The newest FINISHED run in the experiment whose step key is ``key``."""
    runs = MlflowClient().search_runs(
        [experiment_id],
        filter_string=f"tags.`{keys.KEY_TAG}` = '{key}' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return str(runs[0].info.run_id) if runs else None


def log_missing_params(run_id: str, params: dict[str, Any]) -> None:
    """Log the parameters the run does not have yet.

    ``mlflow run`` has already logged its own as typed (``C=1e-1``); logging the parsed value
    (``0.1``) again would be refused as a change.
    """
    logged = MlflowClient().get_run(run_id).data.params
    mlflow.log_params({name: value for name, value in params.items() if name not in logged})


def run_step(step: str, params: dict[str, Any], workdir: Path, *, nested: bool) -> StepRun:
    """Run ``step`` (nested under the active run if ``nested``), reusing a match if nested.

    A step launched on its own by ``mlflow run -e STEP`` already has its run and always does
    the work; it still records its key, so a later ``main`` can reuse it.
    """
    module: Any = importlib.import_module(f"multistep_project.{step}")
    inputs: dict[str, Path] = dict(module.SOURCE_FILES)
    for name in module.INPUTS:
        inputs[name] = download(name, params[name], workdir / step)
    key = keys.key_for(step, params, inputs)
    if nested:
        parent = mlflow.active_run()
        if parent is None:
            raise RuntimeError(f"step {step}: a nested step needs the pipeline's active run")
        earlier = find_reusable(parent.info.experiment_id, key)
        if earlier is not None:
            return StepRun(step, earlier, reused=True)
    with mlflow.start_run(nested=nested, run_name=step if nested else None) as run:
        mlflow.set_tags({STEP_TAG: step, keys.KEY_TAG: key})
        log_missing_params(run.info.run_id, params)
        module.execute(params, inputs)
    return StepRun(step, str(run.info.run_id), reused=False)
