"""The run room's operations: run, show, replay and verify, each a typed function that
returns a typed result (the CLI, sweeps, DAG tasks and the demo call these).

``run`` validates a request, answers it from the run cache or launches it, and records its
manifest. Everything that runs a project goes through :func:`run`: ``mlharness run``, each sweep
trial, each pipeline step of a generated DAG and the demo, so all of them validate the same
way, write the same manifest and share one cache.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.run import run_memo

if TYPE_CHECKING:
    from harness.run import comparison, launch, perturbation
    from harness.schemas import manifest

# A cached ``mlharness run`` is answered by ``run_memo`` alone: every other module of the
# run room (MLflow, YAML, the schemas...) is imported by the operation that needs it, so
# that answer costs an interpreter, typer and the memo (bench/harness.py: <= 0.25 s).

__all__ = [
    "ReplayRequest",
    "ReplayResult",
    "RunRequest",
    "RunResult",
    "ShowRequest",
    "Shown",
    "VerifyRequest",
    "VerifyResult",
    "replay_run",
    "run",
    "show",
    "verify",
]


@dataclass(frozen=True)
class RunRequest:
    """What to run and how: a project (path or Git URL), entry point and raw parameters."""

    project: str
    entry_point: str = "main"
    params: Mapping[str, str] = field(default_factory=dict)
    env_manager: str | None = None
    experiment_name: str | None = None
    run_name: str | None = None
    tracking_uri: str | None = None
    version: str | None = None
    require_clean: bool = False
    force: bool = False
    dry_run: bool = False
    # Attach the new run as a child of this run (a sweep's parent), by id.
    parent_run_id: str | None = None
    # Extra tags on a new run (not on a cache hit, which is somebody else's run).
    tags: Mapping[str, str] = field(default_factory=dict)
    # Send the entry point's output to stderr, so a --json document on stdout stays clean.
    quiet_stdout: bool = False


@dataclass(frozen=True)
class RunResult:
    """A new run (with its manifest), a cache hit, or, for a dry run, the plan."""

    run_id: str | None
    status: str
    cached: bool
    cache_key: str | None
    manifest: manifest.RunManifest | None = None
    plan: dict[str, Any] | None = None
    wall_s: float | None = None

    @property
    def dry_run(self) -> bool:
        return self.plan is not None

    @property
    def metrics(self) -> dict[str, float]:
        return dict(self.manifest.metrics) if self.manifest else {}

    @property
    def manifest_digest(self) -> str | None:
        from harness.schemas import manifest

        return manifest.digest(self.manifest) if self.manifest else None

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form of ``mlharness run``."""
        if self.plan is not None:
            return {"dry_run": True, **self.plan}
        return {
            "run_id": self.run_id,
            "status": self.status,
            "cached": self.cached,
            "cache_key": self.cache_key,
            "manifest_digest": self.manifest_digest,
            "metrics": self.metrics if self.manifest else None,
        }


def _memo_request(request: RunRequest) -> run_memo.Request:
    return run_memo.Request(
        request.project,
        request.entry_point,
        dict(request.params),
        request.env_manager,
        request.experiment_name,
        request.tracking_uri,
        version=request.version,
        require_clean=request.require_clean,
        force=request.force,
        dry_run=request.dry_run,
    )


def run(request: RunRequest) -> RunResult:
    """Run ``request``: the verified hit memo first (no mlflow import), then the full path.

    Raises ``ParamError``/``SpecError``/``SourceError`` (exit 2) before anything is written
    when the request is invalid, ``RunFailed`` (exit 1) when the run ends FAILED or KILLED.
    """
    probe = run_memo.probe(_memo_request(request))
    hit = run_memo.answer(probe) if probe is not None else None
    if hit is not None:
        return RunResult(hit.run_id, hit.status, True, hit.cache_key)
    return _run_full(request, probe)


def _run_full(request: RunRequest, probe: run_memo.Probe | None) -> RunResult:
    """The authoritative path: MLflow parses and launches; a FINISHED end is memoised."""
    from harness.run import launch, source, spec
    from harness.store import mlflow_boundary

    with source.checkout(
        request.project, request.version, require_clean=request.require_clean
    ) as resolved:
        run_spec = spec.build_run_spec(
            resolved.project_dir,
            request.entry_point,
            request.params,
            env_manager=request.env_manager,
            experiment_name=request.experiment_name,
            run_name=request.run_name,
        )
        planned = launch.plan(resolved, run_spec)
        if request.dry_run:
            return RunResult(None, "PLANNED", False, planned.cache_key, plan=planned.summary())
        uri = mlflow_boundary.connect(request.tracking_uri)
        outcome = launch.execute(
            planned,
            uri,
            force=request.force,
            quiet_stdout=request.quiet_stdout,
            parent_run_id=request.parent_run_id,
            extra_tags=request.tags,
        )
        if probe is not None and outcome.status == "FINISHED":
            _remember(probe, uri, planned, outcome.run_id, run_spec.env_manager)
    return RunResult(
        outcome.run_id,
        outcome.status,
        outcome.cached,
        planned.cache_key,
        manifest=outcome.manifest,
        wall_s=outcome.wall_s,
    )


def _remember(
    probe: run_memo.Probe, uri: str, planned: launch.Plan, run_id: str, env_manager: str
) -> None:
    from harness.store import mlflow_api

    inputs = {}
    for name, entry in planned.inputs.items():
        local = mlflow_api.local_path_or_none(str(entry["value"]))
        if entry["digest"] and local is not None:
            inputs[name] = (os.path.abspath(local), str(entry["digest"]))
    local_lock = planned.environment["lock_digest"] if env_manager == "local" else None
    run_memo.remember(
        probe,
        uri,
        planned.cache_key,
        run_id,
        inputs,
        planned_tree=planned.source.tree_digest,
        planned_local_lock=local_lock,
    )


@dataclass(frozen=True)
class ShowRequest:
    """Which run, in which tracking store (None: MLflow's default)."""

    run_id: str
    tracking_uri: str | None = None


@dataclass(frozen=True)
class Shown:
    """The manifest JSON exactly as logged (``raw``, for ``--json``), the same as a mapping
    when it is one (``manifest``), and whether its digest equals the run's tag. Unlike the
    other operations' manifests it is not a ``RunManifest``: ``show`` prints a malformed or
    newer one too."""

    run_id: str
    raw: object
    manifest: dict[str, Any]
    digest_matches: bool


def show(request: ShowRequest) -> Shown:
    """Read the manifest of ``request.run_id``; unlike replay it is shown even when edited
    (``digest_matches`` says so), because looking at a bad manifest is how one finds out."""
    from harness.run import launch
    from harness.schemas import manifest
    from harness.store import mlflow_boundary
    from harness.store.tracking import Tracking

    uri = mlflow_boundary.connect(request.tracking_uri)
    raw, tag = launch.fetch_manifest(Tracking(uri), request.run_id)
    doc = raw if isinstance(raw, dict) else {}
    matches = bool(doc) and tag is not None and manifest.digest(doc) == tag
    return Shown(request.run_id, raw, doc, matches)


@dataclass(frozen=True)
class ReplayRequest:
    """The run to replay and where it lives."""

    run_id: str
    tracking_uri: str | None = None
    dry_run: bool = False
    # Send the entry point's output to stderr, so a --json document on stdout stays clean.
    quiet_stdout: bool = False
    # Run in the environment the manifest recorded (built with uv, cached), not today's.
    recorded_env: bool = False


@dataclass(frozen=True)
class ReplayResult:
    """The new run (``run_id``, ``status``), or for a dry run only the recorded plan;
    ``recorded_env`` names the recorded environment it ran in, if any."""

    replay_of: str
    source: manifest.SourceSection
    run_spec: manifest.RunSpecSection
    run_id: str | None = None
    status: str = "PLANNED"
    recorded_env: dict[str, str] | None = None

    @property
    def dry_run(self) -> bool:
        return self.run_id is None

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form of ``mlharness replay``."""
        if self.dry_run:
            return {
                "dry_run": True,
                "source": self.source.as_json_dict(),
                "run_spec": self.run_spec.as_json_dict(),
            }
        return {
            "replay_of": self.replay_of,
            "run_id": self.run_id,
            "status": self.status,
            "recorded_env": self.recorded_env,
        }


def _recorded_env_of(doc: manifest.RunManifest | None) -> dict[str, str] | None:
    found = doc.environment.recorded_env if doc is not None else None
    return dict(found) if found else None


def _manifest_of(outcome: launch.Outcome) -> manifest.RunManifest:
    """The manifest a replay recorded (launched with ``force``: never a cache hit)."""
    if outcome.manifest is None:
        raise RuntimeError(f"replay {outcome.run_id} recorded no manifest")
    return outcome.manifest


def replay_run(request: ReplayRequest) -> ReplayResult:
    """Check the manifest (refused when edited or newer), then launch it again.

    Raises ``SpecError``/``SourceError`` (exit 2) for a refused manifest or lost code,
    ``RunFailed`` (exit 1) when the replay ends FAILED or KILLED.
    """
    from harness.run import replay
    from harness.store import mlflow_boundary

    uri = mlflow_boundary.connect(request.tracking_uri)
    original = replay.load_checked(request.run_id, uri)
    if request.dry_run:
        return ReplayResult(request.run_id, original.source, original.run_spec)
    _, outcome = replay.replay(
        request.run_id,
        uri,
        quiet_stdout=request.quiet_stdout,
        original=original,
        in_recorded_env=request.recorded_env,
    )
    return ReplayResult(
        request.run_id,
        original.source,
        original.run_spec,
        outcome.run_id,
        outcome.status,
        _recorded_env_of(outcome.manifest),
    )


@dataclass(frozen=True)
class VerifyRequest:
    """The run to verify, and per-metric relative tolerances (default: exact)."""

    run_id: str
    rtols: Mapping[str, float] = field(default_factory=dict)
    tracking_uri: str | None = None
    dry_run: bool = False
    # Replay in the environment the manifest recorded (built with uv, cached).
    recorded_env: bool = False
    # Replay once per perturbation (threads, hashseed, order) and label every result.
    perturb: tuple[str, ...] = ()


@dataclass(frozen=True)
class VerifyResult:
    """Every compared value (``rows``) of the original and its replay, or for a dry run
    the recorded plan only (``replay_run_id`` None, no rows). With perturbations, the
    reproducibility table (``perturbation``) instead."""

    run_id: str
    source: manifest.SourceSection
    run_spec: manifest.RunSpecSection
    rtols: dict[str, float]
    replay_run_id: str | None = None
    rows: list[comparison.Row] = field(default_factory=list)
    recorded_env: dict[str, str] | None = None
    perturbation: perturbation.PerturbationReport | None = None
    perturb: tuple[str, ...] = ()

    @property
    def dry_run(self) -> bool:
        return self.replay_run_id is None and self.perturbation is None

    @property
    def identical(self) -> bool:
        """Nothing differs (beyond tolerances); with perturbations: nothing divergent."""
        if self.perturbation is not None:
            return self.perturbation.reproducible
        from harness.run import comparison

        return comparison.identical(self.rows)

    @property
    def differing(self) -> int:
        from harness.run import comparison

        return sum(row.status == comparison.DIFFERS for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form of ``mlharness verify``."""
        if self.dry_run:
            return {
                "dry_run": True,
                "source": self.source.as_json_dict(),
                "run_spec": self.run_spec.as_json_dict(),
                "rtol": self.rtols,
                "perturb": list(self.perturb),
            }
        if self.perturbation is not None:
            return {
                **self.perturbation.to_dict(),
                "identical": self.identical,
                "recorded_env": self.recorded_env,
            }
        return {
            "run_id": self.run_id,
            "replay_run_id": self.replay_run_id,
            "identical": self.identical,
            "rows": [row.to_dict() for row in self.rows],
            "recorded_env": self.recorded_env,
        }


def verify(request: VerifyRequest) -> VerifyResult:
    """Load and check the manifest, refuse tolerances for unknown metrics (before anything
    runs), replay, compare. A difference is a result, not an error: the CLI maps
    ``identical`` False to exit 1."""
    from harness.run import comparison, replay
    from harness.store import mlflow_boundary

    uri = mlflow_boundary.connect(request.tracking_uri)
    original = replay.load_checked(request.run_id, uri)
    rtols = dict(request.rtols)
    planned = VerifyResult(
        request.run_id, original.source, original.run_spec, rtols, perturb=request.perturb
    )
    if request.dry_run:
        return planned
    comparison.check_rtol_names(rtols, original)
    if request.perturb:
        return _verify_perturbed(request, uri, original, rtols)
    _, outcome = replay.replay(
        request.run_id,
        uri,
        quiet_stdout=True,
        original=original,
        in_recorded_env=request.recorded_env,
    )
    rows = comparison.compare(original, _manifest_of(outcome), rtols)
    return VerifyResult(
        request.run_id,
        original.source,
        original.run_spec,
        rtols,
        outcome.run_id,
        rows,
        recorded_env=_recorded_env_of(outcome.manifest),
    )


def _verify_perturbed(
    request: VerifyRequest, uri: str, original: manifest.RunManifest, rtols: dict[str, float]
) -> VerifyResult:
    """One replay per perturbation, then the reproducibility table."""
    from harness.run import perturbation, replay
    from harness.store import mlflow_api

    inputs = {
        name: local
        for name, entry in original.inputs.items()
        if (local := mlflow_api.local_path_or_none(entry.value)) is not None
    }
    replays: dict[str, manifest.RunManifest] = {}
    run_ids: dict[str, str] = {}
    recorded: dict[str, str] | None = None
    with tempfile.TemporaryDirectory(prefix="mlharness-perturb-") as tmp:
        with replay.recorded_source(original.source) as resolved:
            planned, notes = perturbation.perturbations(
                request.perturb,
                project_dir=resolved.project_dir,
                entry_point=original.run_spec.entry_point,
                inputs=inputs,
                recorded_variables=original.environment.variables,
                workdir=Path(tmp),
            )
        for change in planned:
            _, outcome = replay.replay(
                request.run_id,
                uri,
                quiet_stdout=True,
                original=original,
                in_recorded_env=request.recorded_env,
                variables=change.variables,
                params=change.params,
                tags={perturbation.TAG_PERTURBATION: change.label},
            )
            replays[change.label] = _manifest_of(outcome)
            run_ids[change.label] = outcome.run_id
            recorded = recorded or _recorded_env_of(outcome.manifest)
    report = perturbation.PerturbationReport(
        request.run_id,
        [change.label for change in planned],
        run_ids,
        perturbation.compare(original, replays, rtols),
        notes,
    )
    return VerifyResult(
        request.run_id,
        original.source,
        original.run_spec,
        rtols,
        recorded_env=recorded,
        perturbation=report,
        perturb=request.perturb,
    )
