"""Where a version came from: its source run (metrics, params, datasets, git commit) and,
when the run was launched by ``mlharness run``, the manifest's commit and data digests.

The manifest is read as plain JSON from the run artifact ``mlharness/manifest.json`` (the
shared contract); runs launched without the harness simply have no manifest section, and
their commit is the one MLflow recorded (tag ``mlflow.source.git.commit``).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.schemas.manifest import ARTIFACT_DIR, ARTIFACT_PATH, TAG_DIGEST
from harness.store.registry import Registry
from registry_tools.errors import RegistryError
from registry_tools.versions import VersionInfo

__all__ = ["GIT_COMMIT_TAG", "Lineage", "ManifestSummary", "lineage", "run_metrics"]

GIT_COMMIT_TAG = "mlflow.source.git.commit"  # what ``mlflow run`` records from a git checkout


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
    commit: str | None = None  # the manifest's commit, else the one MLflow recorded

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
    tags = {str(k): str(v) for k, v in run.data.tags.items()}
    manifest = _manifest(registry, info.run_id, tags)
    return Lineage(
        version=info,
        run_id=info.run_id,
        experiment_id=run.info.experiment_id,
        run_status=run.info.status,
        metrics={str(k): float(v) for k, v in run.data.metrics.items()},
        params={str(k): str(v) for k, v in run.data.params.items()},
        datasets=datasets,
        manifest=manifest,
        commit=(manifest.commit if manifest else None) or tags.get(GIT_COMMIT_TAG) or None,
    )


def _manifest(registry: Registry, run_id: str, tags: dict[str, str]) -> ManifestSummary | None:
    if ARTIFACT_PATH not in registry.list_artifacts(run_id, ARTIFACT_DIR):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        local = registry.download_artifact(run_id, ARTIFACT_PATH, tmp)
        try:
            data: object = json.loads(Path(local).read_text())
        except (OSError, ValueError):
            return None  # unreadable manifest: show the run without it
    if not isinstance(data, dict):
        return None
    source = _section(data, "source")
    inputs = _section(data, "inputs")
    dirty = source.get("dirty")
    return ManifestSummary(
        source_uri=_text(source.get("uri")),
        commit=_text(source.get("commit")),
        dirty=dirty if isinstance(dirty, bool) else None,
        tree_digest=_text(source.get("tree_digest")),
        inputs={str(k): str(_section(inputs, str(k)).get("digest")) for k in inputs},
        digest=tags.get(TAG_DIGEST),
        cache_key=_text(data.get("cache_key")),
    )


def _section(data: dict[object, object], key: str) -> dict[object, object]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)
