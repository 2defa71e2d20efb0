"""Launch a validated run spec through ``mlflow.projects.run`` and record its manifest.

The run is created here first (so its id is known before the entry point starts and a
Ctrl-C can mark it KILLED), then MLflow's local backend runs the entry point on it. When
the run ends, its metrics and artifact digests are read back, and the manifest is logged
as an artifact with its digest and the cache key as tags.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.kernel.errors import MlharnessError, RunFailed, SpecError
from harness.run import environment
from harness.run.run_cache import cache_key, find_cached
from harness.run.source import ResolvedSource
from harness.run.spec import RunSpec
from harness.schemas import manifest
from harness.store.mlflow_boundary import classify, converted, first_line
from harness.store.tracking import Tracking

if TYPE_CHECKING:
    from harness.store.mlflow_boundary import Client

__all__ = ["Outcome", "Plan", "execute", "fetch_manifest", "plan"]


@dataclass
class Plan:
    """Everything known before launch: what runs, on what, and its cache key."""

    source: ResolvedSource
    spec: RunSpec
    environment: dict[str, Any]
    inputs: dict[str, dict[str, str | None]]
    cache_key: str
    template: dict[str, Any] | None = None
    # The bin directory whose ``python`` runs the entry point (a recorded environment);
    # None: this interpreter's.
    bin_dir: str | None = None

    def summary(self) -> dict[str, Any]:
        """The plan as printed by ``--dry-run``."""
        return {
            "source": self.source_section(),
            "run_spec": self.run_spec_section(),
            "lock_digest": self.environment["lock_digest"],
            "inputs": self.inputs,
            "cache_key": self.cache_key,
        }

    def source_section(self) -> dict[str, Any]:
        src = self.source
        return {
            "uri": src.uri,
            "commit": src.commit,
            "subdir": src.subdir,
            "version": src.version,
            "dirty": src.dirty,
            "diff_digest": src.diff_digest,
            "tree_digest": src.tree_digest,
            "template": self.template,
        }

    def run_spec_section(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "entry_point": spec.entry_point,
            "parameters": dict(spec.parameters),
            "env_manager": spec.env_manager,
            "experiment_name": spec.experiment_name,
            "run_name": spec.run_name,
        }


@dataclass
class Outcome:
    """What ``run`` did: a new run (with its manifest) or a cache hit."""

    run_id: str
    status: str
    cached: bool
    manifest: manifest.RunManifest | None = None
    wall_s: float | None = None  # of a new run, launch to manifest


def _template(project_dir: Path) -> dict[str, Any] | None:
    import json

    marker = project_dir / ".mlharness-template.json"
    if not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text())
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def plan(source: ResolvedSource, spec: RunSpec) -> Plan:
    """Digest the environment and inputs and derive the cache key."""
    env = environment.describe(source.project_dir, spec.env_manager)
    inputs = manifest.input_digests(spec.input_params())
    key = cache_key(
        tree_digest=source.tree_digest,
        entry_point=spec.entry_point,
        parameters=spec.parameters,
        lock_digest=str(env["lock_digest"]),
        inputs=inputs,
    )
    return Plan(source, spec, env, inputs, key, _template(source.project_dir))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@contextmanager
def _stdout_to_stderr(enabled: bool) -> Iterator[None]:
    """Send the child's output to stderr so ``--json`` output on stdout stays parseable."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _create_run(
    client: Client,
    planned: Plan,
    experiment_id: str,
    replay_of: str | None,
    parent_run_id: str | None = None,
    extra_tags: Mapping[str, str] | None = None,
) -> str:
    """Create the run with MLflow's project tags (source without credentials).

    ``parent_run_id`` attaches it as a child run by id (``mlflow.parentRunId``), never
    through MLflow's in-process active-run stack, so a child started in another process
    (a sweep trial) lands under the right parent.
    """
    from mlflow.entities import Param
    from mlflow.utils.mlflow_tags import (
        MLFLOW_GIT_COMMIT,
        MLFLOW_GIT_REPO_URL,
        MLFLOW_PARENT_RUN_ID,
        MLFLOW_PROJECT_ENTRY_POINT,
        MLFLOW_SOURCE_NAME,
        MLFLOW_SOURCE_TYPE,
        MLFLOW_USER,
    )

    src = planned.source
    tags = {
        MLFLOW_USER: getpass.getuser(),
        MLFLOW_SOURCE_NAME: src.uri + (f"#{src.subdir}" if src.subdir else ""),
        MLFLOW_SOURCE_TYPE: "PROJECT",
        MLFLOW_PROJECT_ENTRY_POINT: planned.spec.entry_point,
    }
    if src.commit:
        tags[MLFLOW_GIT_COMMIT] = src.commit
        tags[MLFLOW_GIT_REPO_URL] = src.uri
    if replay_of:
        tags[manifest.TAG_REPLAY_OF] = replay_of
    if parent_run_id:
        tags[MLFLOW_PARENT_RUN_ID] = parent_run_id
    tags.update(extra_tags or {})
    run = client.create_run(experiment_id, tags=tags, run_name=planned.spec.run_name)
    run_id = str(run.info.run_id)
    params = [Param(k, v) for k, v in sorted(planned.spec.parameters.items())]
    for start in range(0, len(params), 100):
        client.log_batch(run_id, params=params[start : start + 100])
    return run_id


def _launch(planned: Plan, store: Tracking, experiment_id: str, run_id: str) -> str | None:
    """Run the entry point on the created run; None when it finished, else why it failed
    (the entry point's own output has already streamed to the terminal)."""
    # "local" means this interpreter's environment (the one the manifest describes), and the
    # tools MLflow calls for the other managers (uv, virtualenv) are installed beside it.
    # PATH goes to the entry point for this launch only (never appended to this process's
    # PATH, which would grow with every trial of a long-lived sweep worker).
    bin_dir = planned.bin_dir or os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[0] != bin_dir:
        path = bin_dir + os.pathsep + path
    try:
        store.run_project(
            planned.source.project_dir,
            planned.spec.entry_point,
            dict(planned.spec.parameters),
            experiment_id=experiment_id,
            env_manager=planned.spec.env_manager,
            run_id=run_id,
            child_env={"PATH": path},
        )
    except MlharnessError:
        raise  # the store went away (exit 5)
    except (OSError, subprocess.SubprocessError) as exc:
        # MLflow building the environment (uv, virtualenv, pyenv) failed outside its own errors.
        return f"launching the run failed: {exc}"
    except Exception as exc:
        if classify(exc) is None:
            raise  # not MLflow's: a bug
        return first_line(exc) if str(exc).strip() else "MLflow failed"
    return None


def _outputs(store: Tracking, run_id: str) -> dict[str, str]:
    if not store.has_artifacts(run_id):
        return {}
    with tempfile.TemporaryDirectory(prefix="mlharness-out-") as tmp:
        return manifest.output_digests(store.download_run(run_id, tmp))


def _record(
    store: Tracking, planned: Plan, run_id: str, started: dt.datetime
) -> manifest.RunManifest:
    """Build the manifest of a finished run, log it and tag the run with its digest.

    A manifest that does not validate is a bug here, not bad input: pydantic's error is
    raised as it is (and the run gets no manifest rather than one replay would refuse).
    """
    finished = _now()
    client = store.client
    run = store.get_run(run_id)
    environment.complete_after_run(planned.environment, planned.source.project_dir)
    fields: dict[str, Any] = {
        "schema_version": manifest.SCHEMA_VERSION,
        "source": planned.source_section(),
        "run_spec": planned.run_spec_section(),
        "environment": planned.environment,
        "inputs": planned.inputs,
        "outputs": _outputs(store, run_id),
        "metrics": dict(sorted(run.data.metrics.items())),
        "seeds": manifest.seeds_of(planned.spec.parameters),
        "timings": {
            "started": started.isoformat(),
            "finished": finished.isoformat(),
            "duration_s": round((finished - started).total_seconds(), 3),
        },
        "cache_key": planned.cache_key,
    }
    doc = manifest.RunManifest.model_validate(fields)
    with tempfile.TemporaryDirectory(prefix="mlharness-manifest-") as tmp:
        target = Path(tmp) / "manifest.json"
        manifest.write(doc, target)
        client.log_artifact(run_id, str(target), manifest.ARTIFACT_DIR)
    client.set_tag(run_id, manifest.TAG_DIGEST, manifest.digest(doc))
    client.set_tag(run_id, manifest.TAG_CACHE_KEY, planned.cache_key)
    return doc


def _children() -> set[int]:
    import psutil

    return {child.pid for child in psutil.Process().children(recursive=True)}


def _stop_new_children(before: set[int], grace_s: float = 5.0) -> None:
    """Stop what the interrupted launch started and left behind. MLflow's cancel terminates
    the entry point's shell only; a shell that forked its command (rather than exec'ing it)
    leaves the command running, holding our stdout and stderr. Processes this one had
    before the launch are left alone."""
    import psutil

    left = [c for c in psutil.Process().children(recursive=True) if c.pid not in before]
    for child in left:
        with contextlib.suppress(psutil.Error):
            child.terminate()
    _, alive = psutil.wait_procs(left, timeout=grace_s)
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.kill()


def execute(
    planned: Plan,
    tracking_uri: str,
    *,
    force: bool = False,
    replay_of: str | None = None,
    quiet_stdout: bool = False,
    parent_run_id: str | None = None,
    extra_tags: Mapping[str, str] | None = None,
) -> Outcome:
    """Answer from the cache, or launch the run and record its manifest."""
    store = Tracking(tracking_uri)
    client = store.client
    with converted(tracking_uri):
        if not force:
            hit = find_cached(client, planned.cache_key)
            if hit is not None:
                return Outcome(hit, "FINISHED", cached=True)
        experiment_id = store.experiment_id(planned.spec.experiment_name)
        run_id = _create_run(client, planned, experiment_id, replay_of, parent_run_id, extra_tags)
    started = _now()
    clock = time.monotonic()
    before = _children()
    try:
        with _stdout_to_stderr(quiet_stdout):
            failure = _launch(planned, store, experiment_id, run_id)
    except KeyboardInterrupt:
        _stop_new_children(before)
        with converted(tracking_uri):
            client.set_terminated(run_id, "KILLED")
            _record(store, planned, run_id, started)
        raise RunFailed(f"run {run_id} interrupted; marked KILLED") from None
    except Exception:
        # A bug on our side or MLflow's, or the store gone: the run must not stay RUNNING.
        with contextlib.suppress(Exception), converted(tracking_uri):
            client.set_terminated(run_id, "FAILED")
        raise
    with converted(tracking_uri):
        if failure is not None and client.get_run(run_id).info.status == "RUNNING":
            client.set_terminated(run_id, "FAILED")
        doc = _record(store, planned, run_id, started)
    if failure is not None:
        raise RunFailed(f"run {run_id} ended FAILED: {failure}", hint="see the output above")
    return Outcome(
        run_id,
        "FINISHED",
        cached=False,
        manifest=doc,
        wall_s=round(time.monotonic() - clock, 3),
    )


def fetch_manifest(store: Tracking, run_id: str) -> tuple[object, str | None]:
    """The manifest JSON of a run (parsed, not yet checked) and its digest tag.

    A run without the artifact is a ``SpecError`` (exit 2); a store that cannot be reached
    stays an ``ExternalServiceError`` (exit 5), never "the run has no manifest".
    """
    tags = store.run_tags(run_id)
    content = store.read_artifact(run_id, manifest.ARTIFACT_PATH)
    if content is None:
        raise SpecError(
            f"run {run_id} has no {manifest.ARTIFACT_PATH}",
            hint="was it launched by mlharness run?",
        )
    return manifest.loads(content, where=f"run {run_id}"), tags.get(manifest.TAG_DIGEST)
