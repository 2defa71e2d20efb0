"""What the rendered DAGs' tasks do: each task is one call into this module.

The DAG files hold only the pipeline config (as a literal) and the wiring; every task body
imports this module inside the task and calls one function, so parsing a DAG file imports no
mlflow, pandas or torch, and the behaviour lives in tested Python instead of generated code.
The functions call the same operations as the CLI: a step is ``harness.run.operations.run``
(manifest and run cache included), registration and promotion are ``registry_tools``'s, the
drift check is ``mlharness monitor drift`` in a subprocess (its exit code is the branch, and
a large batch's memory goes away with the process); a champion without a logged reference
profile gets one from the monitoring operation ``monitor profile --model`` calls.

What they return goes to XCom, so it is small and JSON-shaped: run ids, model versions and
URIs, never data.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.config.operations import StepRef, param_text, step_refs
from harness.kernel.errors import ConfigError, ExitCode, MlharnessError
from harness.schemas.pipeline_config import PipelineConfig, StepConfig

__all__ = [
    "BRANCH_DRIFT",
    "BRANCH_GATE_FAILED",
    "BRANCH_NO_DRIFT",
    "BRANCH_PROMOTE",
    "DriftOutcome",
    "asset_uri",
    "check_drift",
    "data_ready",
    "expand_env",
    "gate",
    "gate_failed",
    "newest_batch",
    "notify",
    "pipeline_of",
    "project_source",
    "promote",
    "register",
    "resolve_references",
    "run_step",
    "tracking_uri",
]

BRANCH_PROMOTE = "promote"
BRANCH_GATE_FAILED = "gate_failed"
BRANCH_DRIFT = "drift_detected"
BRANCH_NO_DRIFT = "no_drift"
_ENV_REF = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")
# Where artifacts an upstream step's run logged are downloaded for a downstream step: one
# stable directory per run, so the downstream step's parameters (and its cache key) repeat.
_ARTIFACTS_DIR = Path(tempfile.gettempdir()) / "mlharness-step-artifacts"


def _fail(message: str) -> Exception:
    """A failure Airflow must not retry: the input is wrong and will stay wrong."""
    from airflow.sdk.exceptions import AirflowFailException

    return AirflowFailException(message)


def pipeline_of(pipeline: Mapping[str, object]) -> PipelineConfig:
    """The config literal a DAG file embeds, validated again (it is the same model)."""
    from harness.schemas.validation import validate

    return validate(PipelineConfig, dict(pipeline), "the DAG's PIPELINE literal")


def expand_env(text: str, where: str) -> str:
    """Replace every ``${VAR}`` with the environment's value; a missing one is an error."""
    missing = [name for name in _ENV_REF.findall(text) if name not in os.environ]
    if missing:
        raise ConfigError(where, [f"environment variable {name} is not set" for name in missing])
    return _ENV_REF.sub(lambda m: os.environ[m.group(1)], text)


def tracking_uri(config: PipelineConfig) -> str | None:
    """The tracking URI: ``${VAR}`` references expanded, ``conn:ID`` read from Airflow."""
    uri = config.tracking_uri
    if uri is None:
        return os.environ.get("MLFLOW_TRACKING_URI") or None
    if uri.startswith("conn:"):
        from airflow.sdk import Connection

        connection = Connection.get(uri.removeprefix("conn:"))
        return str(connection.get_uri())
    return expand_env(uri, "tracking_uri")


def asset_uri(config: PipelineConfig) -> str:
    """The Airflow Asset a successful promotion updates (the drift DAG is scheduled on it)."""
    return f"mlharness://models/{config.model.name}/{config.promotion.alias}"


def _resolve(base_dir: str, path: str) -> str:
    return str((Path(base_dir) / os.path.expanduser(path)).resolve())


def project_source(config: PipelineConfig, base_dir: str) -> str:
    """The project to run: ``MLHARNESS_PROJECT`` if set (the compose stack mounts it), else
    the config's git URL or path (relative to the config file's directory)."""
    override = os.environ.get("MLHARNESS_PROJECT")
    if override:
        return override
    if config.project.git is not None:
        return config.project.git
    assert config.project.path is not None  # the model requires one of the two
    return _resolve(base_dir, config.project.path)


def _step(config: PipelineConfig, name: str) -> StepConfig:
    for step in config.steps:
        if step.name == name:
            return step
    raise _fail(f"pipeline {config.name!r} has no step {name!r}")


def _reference(ref: StepRef, upstream: Mapping[str, Mapping[str, object]], uri: str | None) -> str:
    result = upstream.get(ref.step)
    if not result or not result.get("run_id"):
        raise _fail(f"step {ref.step!r} left no run id in XCom")
    run_id = str(result["run_id"])
    if ref.what == "run_id":
        return run_id
    if ref.what == "model_uri":
        return str(result["model_uri"])
    import mlflow

    from harness.store import mlflow_boundary

    assert ref.artifact is not None
    # One directory per run and artifact, so the path (and the step's cache key) repeats.
    target = _ARTIFACTS_DIR / run_id / ref.artifact.replace("/", "__")
    resolved = mlflow_boundary.connect(uri)
    with mlflow_boundary.converted(resolved, f"download {ref.artifact} of run {run_id}"):
        target.mkdir(parents=True, exist_ok=True)
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id,
            artifact_path=ref.artifact,
            dst_path=str(target),
            tracking_uri=resolved,
        )
    return str(local)


def resolve_references(
    step: StepConfig, upstream: Mapping[str, Mapping[str, object]], uri: str | None
) -> dict[str, str]:
    """The step's parameters as ``mlharness run -P`` text, step references resolved."""
    params: dict[str, str] = {}
    for name, value in step.params.items():
        ref = step_refs(value)
        params[name] = param_text(value) if ref is None else _reference(ref, upstream, uri)
    return params


def data_ready(pipeline: Mapping[str, object], base_dir: str) -> bool:
    """The file sensor's poke: does the configured path (a glob) match a file yet?"""
    config = pipeline_of(pipeline)
    if config.sensor is None or config.sensor.file is None:
        return True
    return any(Path(p).is_file() for p in glob.glob(_resolve(base_dir, config.sensor.file)))


def model_uri_of(uri: str | None, run_id: str, artifact_path: str) -> str:
    """The step run's model as MLflow 3 hands it on, ``models:/m-<id>``; a run that logged
    no model under ``artifact_path`` (an evaluate step) keeps ``runs:/<id>/<path>``."""
    from harness.store.registry import Registry
    from registry_tools.errors import RegistryError
    from registry_tools.sources import resolve

    fallback = f"runs:/{run_id}/{artifact_path}"
    try:
        resolved = resolve(Registry(uri), fallback)
    except RegistryError:
        return fallback
    return f"models:/{resolved.model_id}" if resolved.model_id else fallback


def run_step(
    pipeline: Mapping[str, object],
    base_dir: str,
    step_name: str,
    upstream: Mapping[str, Mapping[str, object]],
) -> dict[str, object]:
    """Run one step through the harness run operation (manifest, run cache)."""
    from harness.run.operations import RunRequest, run

    config = pipeline_of(pipeline)
    step = _step(config, step_name)
    uri = tracking_uri(config)
    try:
        params = resolve_references(step, upstream, uri)
        result = run(
            RunRequest(
                project_source(config, base_dir),
                step.entry_point,
                params,
                env_manager=config.env_manager,
                experiment_name=config.experiment_name or config.name,
                run_name=f"{config.name}.{step.name}",
                tracking_uri=uri,
                version=config.project.version,
                tags={"mlharness.pipeline": config.name, "mlharness.step": step.name},
            )
        )
    except MlharnessError as exc:
        if exc.exit_code == ExitCode.BAD_INPUT:
            raise _fail(f"step {step.name!r}: {exc.one_line()}") from exc
        raise
    return {
        "step": step.name,
        "run_id": result.run_id,
        "status": result.status,
        "cached": result.cached,
        "cache_key": result.cache_key,
        "model_uri": model_uri_of(uri, str(result.run_id), config.model.artifact_path),
    }


def register(pipeline: Mapping[str, object], step_result: Mapping[str, object]) -> dict[str, str]:
    """Register the model of the ``model.from_step`` run (idempotent: a re-run of a cached
    step finds the version that already holds it)."""
    from harness.store.registry import Registry
    from registry_tools.versions import register as register_version

    config = pipeline_of(pipeline)
    registry = Registry(tracking_uri(config))
    registration = register_version(
        registry,
        str(step_result["model_uri"]),
        config.model.name,
        tags={"mlharness.pipeline": config.name},
    )
    assert registration.version is not None  # only a dry run leaves it empty
    version = registration.version
    return {
        "name": config.model.name,
        "version": version.version,
        "run_id": version.run_id or "",
        "source": version.source,
        "model_uri": f"models:/{config.model.name}/{version.version}",
        "created": str(registration.created).lower(),
    }


@dataclass(frozen=True)
class GateDecision:
    """Whether the candidate may take the alias, and why."""

    passed: bool
    summary: str


def _decide(config: PipelineConfig, version: str) -> GateDecision:
    from harness.store.registry import Registry
    from registry_tools.promote import PromotionRequest, gate_failure, plan

    if not config.promotion.gates:
        return GateDecision(True, "no gates configured")
    decided = plan(
        Registry(tracking_uri(config)),
        PromotionRequest(
            config.model.name,
            config.promotion.alias,
            list(config.promotion.gates),
            version=version,
        ),
    )
    if decided.passed:
        texts = ", ".join(r.gate for r in decided.results)
        return GateDecision(True, f"every gate passed: {texts}")
    return GateDecision(False, gate_failure(decided).one_line())


def gate(pipeline: Mapping[str, object], version: Mapping[str, str]) -> str:
    """The branch after registration: ``promote`` if every gate passes, else ``gate_failed``."""
    decision = _decide(pipeline_of(pipeline), version["version"])
    print(decision.summary)  # the task log
    return BRANCH_PROMOTE if decision.passed else BRANCH_GATE_FAILED


def gate_failed(pipeline: Mapping[str, object], version: Mapping[str, str]) -> dict[str, str]:
    """The gate-failed branch: fail the DAG run (``on_fail: fail``) or end without promoting."""
    config = pipeline_of(pipeline)
    decision = _decide(config, version["version"])
    if config.promotion.on_fail == "fail":
        raise _fail(decision.summary)
    print(f"not promoted (promotion.on_fail: skip): {decision.summary}")
    return {"version": version["version"], "promoted": "false", "reason": decision.summary}


def promote(pipeline: Mapping[str, object], version: Mapping[str, str]) -> dict[str, str]:
    """Move the alias to the candidate (gates re-checked under the registry's lock), then
    make the golden probes expect its answers (``monitoring.golden.stack_dir``)."""
    from harness.store.registry import Registry
    from registry_tools.aliases import set_alias
    from registry_tools.promote import PromotionRequest
    from registry_tools.promote import promote as promote_version

    config = pipeline_of(pipeline)
    registry = Registry(tracking_uri(config))
    name, alias = config.model.name, config.promotion.alias
    if config.promotion.gates:
        done = promote_version(
            registry,
            PromotionRequest(name, alias, list(config.promotion.gates), version=version["version"]),
        )
        error = done.refusal()  # a refused promotion is returned, not raised
        if error is not None:  # the gates changed their verdict since the gate task
            raise _fail(error.one_line())
        previous, changed = done.plan.current, done.applied
    else:
        change = set_alias(registry, name, alias, version["version"])
        previous, changed = change.previous, change.changed
    # The golden probes now expect the new champion's answers (blackbox exporter reloaded).
    from monitoring.stack.golden_update import refresh_golden_probes

    golden = refresh_golden_probes(config, version["version"], tracking_uri(config))
    return {
        "name": name,
        "alias": alias,
        "version": version["version"],
        "previous": previous or "",
        "changed": str(changed).lower(),
        "model_uri": f"models:/{name}@{alias}",
        "asset": asset_uri(config),
        "golden_probes": ",".join(golden.probes) if golden else "",
    }


def notify(
    pipeline: Mapping[str, object], results: Mapping[str, Mapping[str, object] | None]
) -> dict[str, object]:
    """The run's summary (run ids, version, promotion), printed to the task log."""
    config = pipeline_of(pipeline)

    def field(task_id: str, key: str) -> object:
        return (results.get(task_id) or {}).get(key)

    summary: dict[str, object] = {
        "pipeline": config.name,
        "steps": {step.name: field(step.name, "run_id") for step in config.steps},
        "version": field("register", "version"),
        "promoted": results.get(BRANCH_PROMOTE) is not None,
        "alias": config.promotion.alias,
    }
    if results.get(BRANCH_PROMOTE) is None:
        summary["reason"] = field(BRANCH_GATE_FAILED, "reason")
    print(f"pipeline {config.name}: {summary}")
    return summary


def newest_batch(config: PipelineConfig, base_dir: str) -> Path | None:
    """The newest file (by modification time, then name) that the batches glob matches."""
    pattern = os.environ.get("MLHARNESS_BATCHES") or _resolve(
        base_dir, config.monitoring.drift.batches
    )
    files = [Path(p) for p in glob.glob(pattern) if Path(p).is_file()]
    if not files:
        return None
    return max(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


def _mlharness(args: list[str], uri: str | None) -> subprocess.CompletedProcess[str]:
    from harness.store.mlflow_boundary import child_env

    env = child_env(uri)  # the store (when named) and MLflow's retry/output policy
    command = [sys.executable, "-m", "harness.app", *args]
    print("$ mlharness " + " ".join(args))
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    sys.stdout.write(done.stdout[-4000:])
    sys.stderr.write(done.stderr[-4000:])
    return done


def _reference_profile(config: PipelineConfig, base_dir: str, uri: str | None) -> Path:
    """The champion's reference profile: configured, logged beside the version, or made now."""
    if config.monitoring.drift.reference_profile is not None:
        return Path(_resolve(base_dir, config.monitoring.drift.reference_profile))
    import mlflow

    from harness.store import mlflow_boundary
    from harness.store.registry import Registry
    from monitoring.model_data import PROFILE_TAG  # where `monitor profile --model` logs it

    model_uri = f"models:/{config.model.name}@{config.promotion.alias}"
    where = Path(tempfile.mkdtemp(prefix="mlharness-drift-"))
    resolved = mlflow_boundary.connect(uri)
    version = Registry(resolved).version_by_alias(config.model.name, config.promotion.alias)
    logged = (version.tags or {}).get(PROFILE_TAG)
    if logged:
        folder = logged.rsplit("/", 1)[0]
        with mlflow_boundary.converted(resolved, f"download {folder}"):
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=folder, dst_path=str(where), tracking_uri=resolved
            )
        return Path(local) / logged.rsplit("/", 1)[1]
    # What `mlharness monitor profile --model MODEL -o OUTPUT` does, in this task's process
    # (which has MLflow loaded already): profile the version's run data, log it beside it.
    from monitoring.operations import ProfileOptions, build_reference_profile

    output = where / "profile.json"
    print(f"profiling {model_uri} (mlharness monitor profile --model {model_uri})")
    try:
        made = build_reference_profile(
            None, output, ProfileOptions(model=model_uri, tracking_uri=resolved)
        )
    except MlharnessError as exc:
        raise _fail(
            f"cannot profile {model_uri} (exit {int(exc.exit_code)}): {exc.one_line()}"
        ) from exc
    print(f"reference profile of {made.plan.rows} row(s) from {made.plan.data}: {output}")
    return output


@dataclass(frozen=True)
class DriftOutcome:
    """The drift check's verdict (its exit code) and what it compared."""

    branch: str
    batch: str
    reference: str
    exit_code: int
    message: str


def check_drift(pipeline: Mapping[str, object], base_dir: str) -> DriftOutcome:
    """Run ``mlharness monitor drift`` on the newest batch against the champion's profile;
    exit 0 is no drift, 4 is drift, anything else fails the task."""
    config = pipeline_of(pipeline)
    uri = tracking_uri(config)
    batch = newest_batch(config, base_dir)
    if batch is None:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException(f"no batch matches {config.monitoring.drift.batches!r} yet")
    reference = _reference_profile(config, base_dir, uri)
    args = ["monitor", "drift", "--reference", str(reference), "--current", str(batch)]
    args += ["--drift-share", repr(config.monitoring.drift.drift_share)]
    for column, method in sorted(config.monitoring.drift.stattest.items()):
        args += ["--stattest", f"{column}={method}"]
    # A stack with a Pushgateway (mlharness up) sets it: the gauges reach Prometheus.
    pushgateway = os.environ.get("MLHARNESS_PUSHGATEWAY")
    if pushgateway:
        args += ["--pushgateway", pushgateway]
    done = _mlharness(args, uri)
    last = (done.stderr.strip().splitlines() or [""])[-1].removeprefix("error: ")
    if done.returncode == int(ExitCode.DRIFT):
        branch = BRANCH_DRIFT
    elif done.returncode == 0:
        branch = BRANCH_NO_DRIFT
    else:
        raise RuntimeError(f"mlharness monitor drift failed (exit {done.returncode}): {last}")
    return DriftOutcome(branch, str(batch), str(reference), done.returncode, last)
