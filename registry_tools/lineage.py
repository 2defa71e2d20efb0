"""Where a version came from: its source run (metrics, params, datasets) and, when the run
was launched by ``mlharness run``, the manifest's commit and data digests.

The manifest is read as plain JSON from the run artifact ``mlharness/manifest.json`` (the
shared contract); runs launched without the harness simply have no manifest section.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.manifest import ARTIFACT_DIR, ARTIFACT_PATH, TAG_DIGEST
from registry_tools.client import Registry
from registry_tools.errors import RegistryError
from registry_tools.versions import VersionInfo


@dataclass(frozen=True)
class ManifestSummary:
    """The parts of a run manifest that say what code and data made the model."""

    source_uri: str | None
    commit: str | None
    dirty: bool | None
    tree_digest: str | None
    inputs: dict[str, str]  # param name -> content digest
    digest: str | None  # the run's mlharness.manifest_digest tag
    cache_key: str | None


@dataclass(frozen=True)
class Lineage:
    """One version with its run and manifest."""

    version: VersionInfo
    run_id: str | None
    experiment_id: str | None = None
    run_status: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    datasets: dict[str, str] = field(default_factory=dict)  # dataset name -> MLflow digest
    manifest: ManifestSummary | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def run_metrics(registry: Registry, run_id: str | None) -> dict[str, float]:
    """The latest value of every metric of a run (empty when there is no run)."""
    if run_id is None:
        return {}
    return {str(k): float(v) for k, v in registry.get_run(run_id).data.metrics.items()}


def lineage(registry: Registry, info: VersionInfo) -> Lineage:
    """Collect the lineage of one version; a run that was deleted leaves only the version."""
    if info.run_id is None:
        return Lineage(info, None)
    try:
        run = registry.get_run(info.run_id)
    except RegistryError:  # the run was garbage-collected: show the version anyway
        return Lineage(info, info.run_id, run_status="missing")
    datasets = {
        d.dataset.name: d.dataset.digest for d in (run.inputs.dataset_inputs if run.inputs else [])
    }
    return Lineage(
        version=info,
        run_id=info.run_id,
        experiment_id=run.info.experiment_id,
        run_status=run.info.status,
        metrics={str(k): float(v) for k, v in run.data.metrics.items()},
        params={str(k): str(v) for k, v in run.data.params.items()},
        datasets=datasets,
        manifest=_manifest(registry, info.run_id, dict(run.data.tags)),
    )


def _manifest(registry: Registry, run_id: str, tags: dict[str, str]) -> ManifestSummary | None:
    listed = registry.call(
        f"list artifacts of run {run_id}", registry.client.list_artifacts, run_id, ARTIFACT_DIR
    )
    if not any(item.path == ARTIFACT_PATH for item in listed):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        local = registry.download_artifact(run_id, ARTIFACT_PATH, tmp)
        try:
            data: dict[str, Any] = json.loads(Path(local).read_text())
        except (OSError, ValueError):
            return None  # unreadable manifest: show the run without it
    source = data.get("source") or {}
    inputs = data.get("inputs") or {}
    return ManifestSummary(
        source_uri=source.get("uri"),
        commit=source.get("commit"),
        dirty=source.get("dirty"),
        tree_digest=source.get("tree_digest"),
        inputs={str(k): str((v or {}).get("digest")) for k, v in inputs.items()},
        digest=tags.get(TAG_DIGEST),
        cache_key=data.get("cache_key"),
    )
