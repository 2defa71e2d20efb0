"""Re-execute a run from its manifest: same commit, entry point, parameters, env manager.

The code comes from the recorded commit (fetched again from the remote, or exported from
the local repository's history), never from whatever the working tree holds now. By
default the entry point runs in today's environment (this interpreter for ``local``, the
project's env file for ``virtualenv``/``uv``); with ``recorded_env`` it runs in the
environment the manifest recorded, rebuilt by :mod:`harness.run.recorded_env`, and the
replay's manifest names that environment (``environment.recorded_env``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from harness.kernel.errors import SourceError
from harness.run import environment, recorded_env, source, spec
from harness.run.launch import Outcome, Plan, execute, fetch_manifest, plan
from harness.run.run_cache import cache_key
from harness.schemas import manifest
from harness.store.tracking import Tracking

__all__ = [
    "load_checked",
    "recorded_source",
    "replay",
    "variables_set",
]


def load_checked(run_id: str, tracking_uri: str) -> manifest.RunManifest:
    """The manifest of ``run_id``, refused if newer or edited."""
    raw, tag = fetch_manifest(Tracking(tracking_uri), run_id)
    return manifest.check(raw, tag, where=f"run {run_id}")


@contextmanager
def recorded_source(src: manifest.SourceSection) -> Iterator[source.ResolvedSource]:
    """The project code a manifest's ``source`` section names, checked out again."""
    uri, subdir, commit = src.uri, src.subdir, src.commit or None
    if source.parse_remote(uri) is not None:
        with source.checkout(f"{uri}#{subdir}" if subdir else uri, commit) as resolved:
            yield resolved
        return
    root = Path(uri)
    if src.dirty or commit is None:
        # Uncommitted code is not in any history: only the very same tree will do.
        project = root / subdir
        current = source.resolve_local(project, require_clean=False) if project.is_dir() else None
        same = current is not None and (
            current.tree_digest == src.tree_digest
            and current.diff_digest == src.diff_digest
            and current.commit == commit
        )
        if current is None or not same:
            state = "uncommitted changes" if src.dirty else "code outside git"
            raise SourceError(
                f"the run used {state} in {project}, and that tree has changed since",
                hint="only runs of committed code can be replayed after the tree moves on "
                "(use --require-clean)",
            )
        yield current
        return
    if not root.is_dir():
        raise SourceError(f"repository {root} of the run no longer exists")
    with source.local_commit(root, subdir, commit) as resolved:
        yield resolved


@contextmanager
def variables_set(variables: Mapping[str, str] | None) -> Iterator[None]:
    """Set environment variables for the runs launched inside (a perturbation), then put
    back what was there."""
    saved = {name: os.environ.get(name) for name in variables or {}}
    os.environ.update(variables or {})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _checkout_root(resolved: source.ResolvedSource) -> Path:
    """The top of the checked-out repository (``project_dir`` less the recorded subdir)."""
    root = resolved.project_dir
    for _ in Path(resolved.subdir).parts if resolved.subdir else ():
        root = root.parent
    return root


def _in_recorded_env(
    planned: Plan, original: manifest.RunManifest, built: recorded_env.RecordedEnv, run_id: str
) -> None:
    """Point the plan at the recorded environment and describe that environment, with its
    lock digest computed the way the original's was (so the two compare)."""
    described = environment.describe_interpreter(built.python)
    recorded = original.environment
    if recorded.env_manager == "local":
        packages = described.packages
        lock = environment.lock_digest(packages)
    else:
        packages = environment.freeze(built.python)
        lock = environment.env_file_lock(planned.source.project_dir, recorded.env_manager)
    planned.environment = {
        "python": described.python,
        "platform": described.platform,
        "env_manager": "recorded",
        "lock_digest": lock,
        "pip_freeze": packages,
        "variables": environment.recorded_variables(os.environ),
        "recorded_env": built.section(run_id),
    }
    planned.cache_key = cache_key(
        tree_digest=planned.source.tree_digest,
        entry_point=planned.spec.entry_point,
        parameters=planned.spec.parameters,
        lock_digest=lock,
        inputs=planned.inputs,
    )
    planned.bin_dir = built.bin_dir


def replay(
    run_id: str,
    tracking_uri: str,
    *,
    quiet_stdout: bool = False,
    original: manifest.RunManifest | None = None,
    in_recorded_env: bool = False,
    variables: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
) -> tuple[manifest.RunManifest, Outcome]:
    """Launch a new run from ``run_id``'s manifest (``original``, when already loaded and
    checked); returns (original manifest, outcome).

    ``in_recorded_env`` runs it in the recorded environment (built or reused);
    ``variables`` are set for the run and ``params`` replace recorded values (both for
    perturbations); ``tags`` go on the new run.
    """
    if original is None:
        original = load_checked(run_id, tracking_uri)
    run_spec = original.run_spec
    recorded = dict(run_spec.parameters)
    recorded.update(params or {})
    with recorded_source(original.source) as resolved:
        built_env = None
        if in_recorded_env:
            uri = original.source.uri
            local_repo = None if source.parse_remote(uri) else uri
            built_env = recorded_env.ensure(
                original.environment,
                of_run=run_id,
                recorded_repo=local_repo,
                checkout_root=_checkout_root(resolved),
            )
        with variables_set(variables):
            built = spec.build_run_spec(
                resolved.project_dir,
                run_spec.entry_point,
                recorded,
                env_manager="local" if built_env else run_spec.env_manager,
                experiment_name=run_spec.experiment_name,
                run_name=run_spec.run_name,
            )
            planned = plan(resolved, built)
            if built_env is not None:
                _in_recorded_env(planned, original, built_env, run_id)
            outcome = execute(
                planned,
                tracking_uri,
                force=True,
                replay_of=run_id,
                quiet_stdout=quiet_stdout,
                extra_tags=tags,
            )
    return original, outcome
