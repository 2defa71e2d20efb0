"""Write a promoted model's own answers into the golden probes, and reload the exporter.

When a promotion changes what the model answers, ``WrongAnswers`` would fire on the new
champion's *right* answers. So the promote task calls :func:`update_golden_probes`: it loads
the promoted version once, predicts each golden body (the config's, and the version's logged
serving input example), turns every prediction into the exact text the scoring server
writes (MLflow's own ``predictions_to_json``), rewrites the ``golden_*`` modules of the
stack's ``blackbox.yml`` and ``golden/expected.json`` (each atomically), and asks the blackbox
exporter to reload its configuration (``POST /-/reload``): no restart, no gap in the probes.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from io import StringIO
from pathlib import Path
from typing import Any, cast

from harness.kernel.atomic import write_text_atomic
from harness.kernel.errors import ExternalServiceError, MlharnessError, SourceError
from harness.schemas.pipeline_config import PipelineConfig
from harness.schemas.slo import INPUT_EXAMPLE, GoldenRequests
from monitoring.stack.golden import (
    EXPECTED_FILE,
    MODULE_PREFIX,
    GoldenProbe,
    expected_json,
    module_config,
)

__all__ = [
    "BLACKBOX_ENV",
    "BLACKBOX_FILE",
    "STACK_ENV",
    "GoldenUpdate",
    "promoted_answers",
    "refresh_golden_probes",
    "update_golden_probes",
]

BLACKBOX_FILE = "blackbox.yml"
# The rendered stack as the promote task's worker sees it (wins over the config's stack_dir).
STACK_ENV = "MLHARNESS_MONITORING_STACK"
# The blackbox exporter the worker reloads (wins over monitoring.blackbox_url): mlharness up
# sets both, since its services listen on ports chosen at start.
BLACKBOX_ENV = "MLHARNESS_BLACKBOX_URL"
RELOAD_TIMEOUT_S = 10
DEFAULT_TIMEOUT = "5s"


@dataclass(frozen=True)
class GoldenUpdate:
    """What the update wrote (or would write) and whether the exporter reloaded."""

    stack: str
    model_uri: str
    probes: list[str]
    changed: bool
    reloaded: bool
    dry_run: bool

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _answer(predictions: object) -> str:
    from mlflow.pyfunc import scoring_server

    out = StringIO()
    scoring_server.predictions_to_json(predictions, out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def _predict(model: Any, body: str, where: str) -> str:
    """The answer text of ``model`` for one request body, parsed as MLflow's server does."""
    from mlflow.pyfunc import scoring_server

    try:
        request = json.loads(body)
        params = request.pop("params", None)
        schema = model.metadata.get_input_schema()
        data = scoring_server.infer_and_parse_data(request, schema)
        predictions = model.predict(data, params=params) if params else model.predict(data)
    except Exception as exc:  # the model's own exception: the request is not golden for it
        raise SourceError(
            f"golden request {where}: the promoted model cannot answer it: "
            f"{type(exc).__name__}: {str(exc)[:200]}",
            hint="fix the body in monitoring.golden.requests or the model",
        ) from exc
    return _answer(predictions)


def promoted_answers(
    golden: GoldenRequests, model_uri: str, tracking_uri: str | None
) -> list[GoldenProbe]:
    """Every configured golden probe with the answer of the model at ``model_uri``."""
    from mlflow.models.utils import load_serving_example

    from harness.store import mlflow_boundary
    from harness.store.registry import Registry

    registry = Registry(mlflow_boundary.connect(tracking_uri))
    model = registry.load_pyfunc(model_uri)
    example = None
    if golden.from_input_example:
        # load_serving_example resolves a models:/ URI through MLflow's global URI.
        with (
            mlflow_boundary.fluent_uri(registry.tracking_uri),
            mlflow_boundary.converted(registry.tracking_uri, f"load {model_uri}"),
        ):
            example = load_serving_example(model_uri)
    probes = [GoldenProbe(r.name, json.dumps(r.body), None, model_uri) for r in golden.requests]
    if golden.from_input_example:
        if not example:
            raise SourceError(
                f"{model_uri} has no logged input example to probe with",
                hint="log the model with input_example=..., or list golden requests instead",
            )
        text = example if isinstance(example, str) else json.dumps(example)
        probes.append(GoldenProbe(INPUT_EXAMPLE, json.dumps(json.loads(text)), None, model_uri))
    return [
        GoldenProbe(p.name, p.body, _predict(model, cast(str, p.body), p.name), model_uri)
        for p in probes
    ]


def _rewritten(blackbox: Path, probes: list[GoldenProbe]) -> str:
    import yaml

    try:
        data = yaml.safe_load(blackbox.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise MlharnessError(
            f"{blackbox}: cannot read the blackbox config: {str(exc).splitlines()[0]}",
            hint="point monitoring.golden.stack_dir at a stack `mlharness monitor render` wrote",
        ) from exc
    modules = data.get("modules") if isinstance(data, dict) else None
    if not isinstance(modules, dict):
        raise MlharnessError(f"{blackbox}: no modules mapping", hint="re-render the stack")
    for probe in probes:
        old = modules.get(probe.module)
        timeout = old.get("timeout", DEFAULT_TIMEOUT) if isinstance(old, dict) else DEFAULT_TIMEOUT
        modules[probe.module] = module_config(probe, str(timeout))
    header = (
        "# Rendered by `mlharness monitor render`; the golden_* modules were last written by "
        "the promote task\n# (golden/expected.json says from which model).\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, width=1_000_000)


def _reload(blackbox_url: str) -> None:
    url = blackbox_url.rstrip("/") + "/-/reload"
    request = urllib.request.Request(url, data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=RELOAD_TIMEOUT_S) as answer:
            answer.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace").strip()[:300]
        raise ExternalServiceError(
            f"the blackbox exporter refused the new config ({exc.code}): {detail}",
            hint=f"check {BLACKBOX_FILE} with prometheus-blackbox-exporter --config.check",
        ) from exc
    except OSError as exc:
        raise ExternalServiceError(
            f"cannot reach the blackbox exporter at {url}: {exc}",
            hint="is monitoring.blackbox_url reachable from here?",
        ) from exc


def update_golden_probes(
    stack_dir: Path,
    probes: list[GoldenProbe],
    blackbox_url: str | None,
    *,
    dry_run: bool = False,
) -> GoldenUpdate:
    """Write ``probes`` into the stack's blackbox.yml and golden/expected.json, then reload
    the exporter at ``blackbox_url`` (None: do not reload)."""
    blackbox = stack_dir / BLACKBOX_FILE
    unknown = [p.name for p in probes if not p.module.startswith(MODULE_PREFIX)]
    if unknown:  # pragma: no cover - GoldenProbe.module always has the prefix
        raise MlharnessError(f"not golden modules: {unknown}")
    text = _rewritten(blackbox, probes)
    expected = expected_json(probes)
    expected_path = stack_dir / EXPECTED_FILE
    old_expected = expected_path.read_text(encoding="utf-8") if expected_path.is_file() else ""
    changed = old_expected != expected
    model = probes[0].source if probes else ""
    reloaded = False
    if not dry_run:
        expected_path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(blackbox, text)
        write_text_atomic(expected_path, expected)
        if blackbox_url:
            _reload(blackbox_url)
            reloaded = True
    return GoldenUpdate(
        stack=str(stack_dir),
        model_uri=model,
        probes=[p.name for p in probes],
        changed=changed,
        reloaded=reloaded,
        dry_run=dry_run,
    )


def refresh_golden_probes(
    config: PipelineConfig, version: str, tracking_uri: str | None
) -> GoldenUpdate | None:
    """After a promotion of ``version``: its answers into the stack's golden probes, the
    exporter reloaded. None when no golden requests or no stack directory are configured
    (``monitoring.golden.stack_dir``, or ``MLHARNESS_MONITORING_STACK`` for the worker; the
    exporter reloaded is ``MLHARNESS_BLACKBOX_URL`` or ``monitoring.blackbox_url``)."""
    golden = config.monitoring.golden
    where = os.environ.get(STACK_ENV) or golden.stack_dir
    if not golden.enabled or not where:
        return None
    model_uri = f"models:/{config.model.name}/{version}"
    probes = promoted_answers(golden, model_uri, tracking_uri)
    stack = Path(where).expanduser().resolve()
    blackbox_url = os.environ.get(BLACKBOX_ENV) or config.monitoring.blackbox_url
    return update_golden_probes(stack, probes, blackbox_url)
