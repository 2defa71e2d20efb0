"""Where a version came from: its source run (metrics, params, datasets, git commit) and,
when the run was launched by ``mlharness run``, the manifest's commit and data digests.

The manifest is the run artifact ``mlharness/manifest.json`` (the shared contract), read
through ``RunManifest`` and checked against the run's digest tag like ``replay`` does: an
edited, malformed or newer manifest is one line naming the run and the tag (exit 2). Runs
launched without the harness simply have no manifest section, and their commit is the one
MLflow recorded (tag ``mlflow.source.git.commit``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from harness.kernel.errors import SpecError, StoredStateError
from harness.schemas import manifest
from harness.schemas.manifest import ARTIFACT_PATH, TAG_DIGEST
from harness.store.registry import Registry
from harness.store.tracking import Tracking
from registry_tools.errors import RegistryError
from registry_tools.versions import VersionInfo

__all__ = [
    "GIT_COMMIT_TAG",
    "Lineage",
    "LineageError",
    "ManifestSummary",
    "lineage",
    "run_metrics",
]

GIT_COMMIT_TAG = "mlflow.source.git.commit"  # what ``mlflow run`` records from a git checkout


@dataclass(frozen=True)
class ManifestSummary:
    """The parts of a run manifest that say what code and data made the model."""

    source_uri: str | None
    commit: str | None
    dirty: bool | None
    tree_digest: str | None
    inputs: dict[str, str | None]  # param name -> content digest (None: a remote URI)
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


class LineageError(StoredStateError, RegistryError):
    """A run's manifest (or its digest tag) is not one mlharness wrote: malformed, from a
    newer mlharness, or edited after the run. Exit 2, one line naming the run and the tag."""


def _manifest(registry: Registry, run_id: str, tags: dict[str, str]) -> ManifestSummary | None:
    """The manifest of a run launched by ``mlharness run`` (None for any other run), read
    through ``RunManifest`` and checked against the run's digest tag."""
    store = Tracking(registry.tracking_uri, client=registry.client)
    content = store.read_artifact(run_id, ARTIFACT_PATH)
    if content is None:
        return None
    where = f"run {run_id}"
    try:
        checked = manifest.check(
            manifest.loads(content, where=where), tags.get(TAG_DIGEST), where=where
        )
    except SpecError as exc:
        problems = getattr(exc, "problems", None) or [exc.message.removeprefix(f"{where}: ")]
        raise LineageError(where, f"{TAG_DIGEST} ({ARTIFACT_PATH})", problems) from exc
    source = checked.source
    return ManifestSummary(
        source_uri=source.uri or None,
        commit=source.commit or None,
        dirty=source.dirty,
        tree_digest=source.tree_digest or None,
        inputs={name: entry.digest for name, entry in checked.inputs.items()},
        digest=tags.get(TAG_DIGEST),
        cache_key=checked.cache_key or None,
    )
