"""The show operation: a run's manifest as logged, and whether it still matches its digest."""

from __future__ import annotations

from dataclasses import dataclass

from harness import launch, manifest, mlflow_boundary

__all__ = ["ShowRequest", "Shown", "show"]


@dataclass(frozen=True)
class ShowRequest:
    """Which run, in which tracking store (None: MLflow's default)."""

    run_id: str
    tracking_uri: str | None = None


@dataclass(frozen=True)
class Shown:
    """The manifest JSON exactly as logged (``raw``, for ``--json``), the same as a mapping
    when it is one (``manifest``), and whether its digest equals the run's tag."""

    run_id: str
    raw: object
    manifest: manifest.Manifest
    digest_matches: bool


def show(request: ShowRequest) -> Shown:
    """Read the manifest of ``request.run_id``; unlike replay it is shown even when edited
    (``digest_matches`` says so), because looking at a bad manifest is how one finds out."""
    uri = mlflow_boundary.connect(request.tracking_uri)
    raw, tag = launch.fetch_manifest(mlflow_boundary.client(uri), request.run_id, uri)
    doc = raw if isinstance(raw, dict) else {}
    matches = bool(doc) and tag is not None and manifest.digest(doc) == tag
    return Shown(request.run_id, raw, doc, matches)
