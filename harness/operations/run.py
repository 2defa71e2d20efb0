"""The run operation: validate a request, answer it from the run cache or launch it, and
record its manifest.

Everything that runs a project goes through :func:`run`: ``mlharness run``, each sweep
trial, each pipeline step of a generated DAG and the demo, so all of them validate the same
way, write the same manifest and share one cache.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness import hit_memo, launch, manifest, mlflow_api, mlflow_boundary, source, spec

__all__ = ["RunRequest", "RunResult", "run"]


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
    manifest: dict[str, Any] | None = None
    plan: dict[str, Any] | None = None
    wall_s: float | None = None

    @property
    def dry_run(self) -> bool:
        return self.plan is not None

    @property
    def metrics(self) -> dict[str, float]:
        return dict((self.manifest or {}).get("metrics", {}))

    @property
    def manifest_digest(self) -> str | None:
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
            "metrics": self.manifest["metrics"] if self.manifest else None,
        }


def _memo_request(request: RunRequest) -> hit_memo.Request:
    return hit_memo.Request(
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
    probe = hit_memo.probe(_memo_request(request))
    hit = hit_memo.answer(probe) if probe is not None else None
    if hit is not None:
        return RunResult(hit.run_id, hit.status, True, hit.cache_key)
    return _run_full(request, probe)


def _run_full(request: RunRequest, probe: hit_memo.Probe | None) -> RunResult:
    """The authoritative path: MLflow parses and launches; a FINISHED end is memoised."""
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
    probe: hit_memo.Probe, uri: str, planned: launch.Plan, run_id: str, env_manager: str
) -> None:
    inputs = {}
    for name, entry in planned.inputs.items():
        local = mlflow_api.local_path_or_none(str(entry["value"]))
        if entry["digest"] and local is not None:
            inputs[name] = (os.path.abspath(local), str(entry["digest"]))
    local_lock = planned.environment["lock_digest"] if env_manager == "local" else None
    hit_memo.remember(
        probe,
        uri,
        planned.cache_key,
        run_id,
        inputs,
        planned_tree=planned.source.tree_digest,
        planned_local_lock=local_lock,
    )
