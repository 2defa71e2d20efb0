"""A memo that lets a cached ``mlharness run`` answer without importing mlflow.

Importing mlflow and its sqlalchemy store costs ~2 s, while the cache decision itself
needs ~0.1 s. The full path (parse the MLproject with MLflow, plan, look the cache key up
with ``MlflowClient``) stays the authority: after it ends on a FINISHED run it writes a
memo, ``fingerprint -> cache key and run id``, where the fingerprint covers everything the
cache key is derived from (code tree, parameters as given, cwd, entry point, env manager,
environment lock, tracking store). The fast path recomputes the fingerprint, re-digests
the recorded input files, and asks the store itself the same question
``run_cache.find_cached`` asks, through the MLflow boundary's read-only queries
(``harness.store.memo_queries``: sqlite at a known schema revision, or MLflow's REST
API). It answers only when every check agrees with the memo; any doubt or error returns
None and the full path decides.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.kernel.atomic import write_text_atomic
from harness.kernel.digests import path_digest, sha256_bytes, tree_digest
from harness.kernel.jsonout import canonical_json
from harness.kernel.run_tags import TAG_CACHE_KEY

__all__ = [
    "DEBUG_ENV",
    "Hit",
    "Probe",
    "Request",
    "answer",
    "default_tracking_uri",
    "fingerprint",
    "memo_dir",
    "probe",
    "remember",
    "resolve_tracking_uri",
    "store_answer",
]

MEMO_VERSION = 1
DEBUG_ENV = "MLHARNESS_MEMO_DEBUG"  # set to 1: the fast path reports its answer on stderr
# Paths MLflow turns into the same sqlite URI text (no quoting by pathname2url needed).
_PLAIN_PATH = re.compile(r"^/[A-Za-z0-9/._+-]*$")


@dataclass(frozen=True)
class Request:
    """The ``mlharness run`` options that decide whether and what the memo may answer."""

    project: str
    entry_point: str
    params: dict[str, str]
    env_manager: str | None
    experiment_name: str | None
    tracking_uri: str | None
    version: str | None = None
    require_clean: bool = False
    force: bool = False
    dry_run: bool = False


@dataclass(frozen=True)
class Probe:
    """A request's fingerprint and the tracking store it was computed for."""

    fingerprint: str
    tracking_uri: str
    tree_digest: str
    lock_digest: str | None


@dataclass(frozen=True)
class Hit:
    """A fast-path cache hit: the FINISHED run the store answers for the memo's cache key."""

    run_id: str
    cache_key: str
    status: str = "FINISHED"


def memo_dir() -> Path:
    """``hits/`` in the mlharness cache (``$MLHARNESS_CACHE_DIR`` or ~/.cache/mlharness)."""
    from harness.kernel.cache import cache_home

    return cache_home() / "hits"


def _has_mlruns_experiments(mlruns: str) -> bool:
    """Mirror of MLflow's ``_has_existing_mlruns_data``: a digit dir holding meta.yaml."""
    try:
        with os.scandir(mlruns) as entries:
            return any(
                e.is_dir()
                and e.name.isdigit()
                and os.path.lexists(os.path.join(e.path, "meta.yaml"))
                for e in entries
            )
    except OSError:
        return False


def default_tracking_uri(cwd: str) -> str | None:
    """MLflow's default store for ``cwd`` (``sqlite:///<cwd>/mlflow.db``), or None when
    MLflow would pick the legacy ``./mlruns`` file store or quote the path."""
    if _has_mlruns_experiments(os.path.join(cwd, "mlruns")):
        return None  # MLflow keeps the legacy file store then
    path = os.path.abspath(os.path.join(cwd, "mlflow.db"))
    return f"sqlite:///{path}" if _PLAIN_PATH.match(path) else None


def resolve_tracking_uri(option: str | None, cwd: str) -> str | None:
    """The URI ``mlflow_boundary.connect`` resolves to, computed without mlflow; None if unsure."""
    from harness.store.mlflow_boundary import absolute_uri

    given = option or os.environ.get("MLFLOW_TRACKING_URI")
    if not given:
        return default_tracking_uri(cwd)
    return absolute_uri(given)


def _project_dir(project: str) -> Path | None:
    """The local directory ``source.checkout`` would run, or None for remotes."""
    from harness.run.source import parse_remote

    if parse_remote(project) is not None:
        return None
    base, _, subdir = project.partition("#")
    path = Path(base).expanduser() / subdir.strip("/")
    return path.resolve() if path.is_dir() else None


def fingerprint(
    request: Request, project_dir: Path, tracking_uri: str, cwd: str
) -> tuple[str, str, str | None]:
    """sha256 over everything the full path derives the cache key and its lookup from,
    with the tree and lock digests it includes (``remember`` checks them against the plan)."""
    from harness.run import environment

    lock = None
    if request.env_manager in {None, "local"}:  # None may mean local (MLproject decides)
        lock = environment.lock_digest(environment.freeze())
    tree = tree_digest(project_dir)
    payload = {
        "v": MEMO_VERSION,
        "tree": tree,
        "project_dir": str(project_dir),
        "entry_point": request.entry_point,
        "params": sorted(request.params.items()),
        "env_manager": request.env_manager,
        "experiment_name": request.experiment_name,
        "cwd": cwd,
        "tracking_uri": tracking_uri,
        "lock": lock,
    }
    return sha256_bytes(canonical_json(payload).encode()), tree, lock


def probe(request: Request) -> Probe | None:
    """The request's fingerprint, or None when the fast path does not apply."""
    if request.version or request.require_clean or request.force or request.dry_run:
        return None
    try:
        project_dir = _project_dir(request.project)
        cwd = os.getcwd()
        uri = resolve_tracking_uri(request.tracking_uri, cwd)
        if project_dir is None or uri is None:
            return None
        fp, tree, lock = fingerprint(request, project_dir, uri, cwd)
        return Probe(fp, uri, tree, lock)
    except Exception:  # the full path reports whatever went wrong
        return None


def _memo_file(fp: str) -> Path:
    return memo_dir() / f"{fp}.json"


def remember(
    found: Probe,
    tracking_uri: str,
    cache_key: str,
    run_id: str,
    inputs: dict[str, tuple[str, str]],
    *,
    planned_tree: str,
    planned_local_lock: str | None,
) -> None:
    """Write the memo of a FINISHED run (atomically); never fails the command.

    Written only when the plan saw what the probe saw (same store, same code tree and, for
    a local env, the same lock): a file edited between the two must not pair the old
    fingerprint with the new cache key.
    """
    if tracking_uri != found.tracking_uri or planned_tree != found.tree_digest:
        return
    if planned_local_lock is not None and planned_local_lock != found.lock_digest:
        return
    entry = {
        "v": MEMO_VERSION,
        "cache_key": cache_key,
        "run_id": run_id,
        "tracking_uri": tracking_uri,
        "inputs": {name: list(pair) for name, pair in sorted(inputs.items())},
    }
    try:
        write_text_atomic(_memo_file(found.fingerprint), json.dumps(entry))
    except OSError:
        return


def _read_memo(found: Probe) -> dict[str, Any] | None:
    entry = json.loads(_memo_file(found.fingerprint).read_text())
    if not isinstance(entry, dict) or entry.get("v") != MEMO_VERSION:
        return None
    fields = (entry.get("cache_key"), entry.get("run_id"), entry.get("tracking_uri"))
    if not all(isinstance(value, str) and value for value in fields):
        return None
    if entry["tracking_uri"] != found.tracking_uri or not isinstance(entry.get("inputs"), dict):
        return None
    return entry


def _inputs_unchanged(inputs: dict[str, Any]) -> bool:
    for pair in inputs.values():
        if not (
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
        ):
            return False
        path = Path(pair[0])
        if not path.is_absolute() or not path.exists() or path_digest(path) != pair[1]:
            return False
    return True


def store_answer(tracking_uri: str, cache_key: str) -> str | None:
    """The store's cache hit for ``cache_key`` (what ``run_cache.find_cached`` answers),
    through the boundary's read-only queries; ``LookupError`` for a store they do not
    answer for (the full path decides then)."""
    from harness.store import memo_queries

    return memo_queries.store_answer(tracking_uri, TAG_CACHE_KEY, cache_key)


def answer(found: Probe) -> Hit | None:
    """The memo's run when the store confirms the full path would answer it; else None."""
    hit = None
    try:
        entry = _read_memo(found)
        if entry is not None and _inputs_unchanged(entry["inputs"]):
            current = store_answer(found.tracking_uri, entry["cache_key"])
            if current is not None and current == entry["run_id"]:
                hit = Hit(current, entry["cache_key"])
    except Exception:  # no memo, a corrupt memo, an unreadable store: the full path decides
        hit = None
    if os.environ.get(DEBUG_ENV):
        import sys

        print(f"mlharness-memo: {'hit' if hit else 'miss'}", file=sys.stderr, flush=True)
    return hit
