"""Re-execute a run from its manifest: same commit, entry point, parameters, env manager.

The code comes from the recorded commit (fetched again from the remote, or exported from
the local repository's history), never from whatever the working tree holds now.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from harness.kernel.errors import SourceError
from harness.run import source, spec
from harness.run.launch import Outcome, execute, fetch_manifest, plan
from harness.schemas import manifest
from harness.store.mlflow_boundary import client as make_client

__all__ = [
    "load_checked",
    "recorded_source",
    "replay",
]


def load_checked(run_id: str, tracking_uri: str) -> manifest.Manifest:
    """The manifest of ``run_id``, refused if newer or edited."""
    raw, tag = fetch_manifest(make_client(tracking_uri), run_id, tracking_uri)
    return manifest.check(raw, tag, where=f"run {run_id}")


@contextmanager
def recorded_source(src: Mapping[str, object]) -> Iterator[source.ResolvedSource]:
    """The project code a manifest's ``source`` section names, checked out again."""
    uri, subdir = str(src["uri"]), str(src.get("subdir") or "")
    commit = str(src["commit"]) if src.get("commit") else None
    if source.parse_remote(uri) is not None:
        with source.checkout(f"{uri}#{subdir}" if subdir else uri, commit) as resolved:
            yield resolved
        return
    root = Path(uri)
    if src.get("dirty") or commit is None:
        # Uncommitted code is not in any history: only the very same tree will do.
        project = root / subdir
        current = source.resolve_local(project, require_clean=False) if project.is_dir() else None
        same = current is not None and (
            current.tree_digest == src.get("tree_digest")
            and current.diff_digest == src.get("diff_digest")
            and current.commit == commit
        )
        if current is None or not same:
            state = "uncommitted changes" if src.get("dirty") else "code outside git"
            raise SourceError(
                f"the run used {state} in {project}, and that tree has changed since",
                hint="only runs of committed code can be replayed after the tree moves on "
                "(use --require-clean)",
            )
        yield current
        return
    if not root.is_dir():
        raise SourceError(f"repository {root} of the run no longer exists")
    with source.local_commit(root, subdir, str(commit)) as resolved:
        yield resolved


def replay(
    run_id: str,
    tracking_uri: str,
    *,
    quiet_stdout: bool = False,
    original: manifest.Manifest | None = None,
) -> tuple[manifest.Manifest, Outcome]:
    """Launch a new run from ``run_id``'s manifest (``original``, when already loaded and
    checked); returns (original manifest, outcome)."""
    if original is None:
        original = load_checked(run_id, tracking_uri)
    run_spec = original["run_spec"]
    with recorded_source(original["source"]) as resolved:
        built = spec.build_run_spec(
            resolved.project_dir,
            str(run_spec["entry_point"]),
            {str(k): str(v) for k, v in run_spec["parameters"].items()},
            env_manager=str(run_spec["env_manager"]),
            experiment_name=run_spec.get("experiment_name"),
            run_name=run_spec.get("run_name"),
        )
        outcome = execute(
            plan(resolved, built),
            tracking_uri,
            force=True,
            replay_of=run_id,
            quiet_stdout=quiet_stdout,
        )
    return original, outcome
