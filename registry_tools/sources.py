"""Turn a SOURCE argument into what ``create_model_version`` needs.

SOURCE is a run id, ``runs:/<run id>/<path>`` or ``models:/m-<id>``. MLflow 3 logs models
as LoggedModels, so a run's model is usually ``models:/m-<id>``; the registry server
rejects that source unless ``model_id`` is passed too, which is why both are resolved
here (``mlflow.register_model`` does the same resolution, but only through the global
fluent client).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.store.registry import Registry
from registry_tools.errors import RegistryError

__all__ = ["ResolvedSource", "resolve"]

_RUN_ID = re.compile(r"[0-9a-f]{32}")
_USAGE = "SOURCE is a run id, runs:/<run id>/<artifact path> or models:/m-<id>"


@dataclass(frozen=True)
class ResolvedSource:
    """The canonical source URI of a model, with the run and logged model behind it."""

    source: str
    run_id: str | None
    model_id: str | None


def resolve(registry: Registry, text: str) -> ResolvedSource:
    """Resolve SOURCE; an unknown run or model is a ``RegistryError`` (exit 2)."""
    text = text.strip()
    if text.startswith("models:/"):
        model_id = text.removeprefix("models:/")
        if not model_id.startswith("m-") or "/" in model_id:
            raise RegistryError(f"SOURCE {text!r} is not a logged model", hint=_USAGE)
        logged = registry.get_logged_model(model_id)
        return ResolvedSource(f"models:/{model_id}", logged.source_run_id, model_id)
    if text.startswith("runs:/"):
        run_id, _, path = text.removeprefix("runs:/").partition("/")
        path = path.strip("/") or "model"
    elif _RUN_ID.fullmatch(text):
        run_id, path = text, "model"
    else:
        raise RegistryError(f"SOURCE {text!r} is not recognised", hint=_USAGE)
    run = registry.get_run(run_id)
    outputs = run.outputs.model_outputs if run.outputs else []
    matches = []
    for output in outputs:
        logged = registry.get_logged_model(output.model_id)
        if logged.name == path:
            matches.append((output.step, output.model_id))
    if matches:
        model_id = max(matches)[1]
        return ResolvedSource(f"models:/{model_id}", run_id, model_id)
    if any(item.endswith("MLmodel") for item in registry.list_artifacts(run_id, path)):
        return ResolvedSource(f"{run.info.artifact_uri}/{path}", run_id, None)
    raise RegistryError(f"run {run_id} has no model at {path!r}", hint=_USAGE)
