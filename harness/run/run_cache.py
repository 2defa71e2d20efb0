"""The run cache: a key over what determines a result, looked up in the tracking store.

There is no cache database: the key is a tag on each finished run, and a hit is a
``search_runs`` for a FINISHED run carrying the same key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from harness.kernel.digests import sha256_bytes
from harness.kernel.jsonout import canonical_json
from harness.schemas.manifest import TAG_CACHE_KEY

if TYPE_CHECKING:
    from harness.store.mlflow_boundary import Client

__all__ = ["CACHE_KEY_VERSION", "cache_key", "find_cached"]

CACHE_KEY_VERSION = 1


def cache_key(
    *,
    tree_digest: str,
    entry_point: str,
    parameters: Mapping[str, str],
    lock_digest: str,
    inputs: Mapping[str, Mapping[str, str | None]],
) -> str:
    """sha256 over code tree, entry point, resolved params, env lock and input digests.

    Inputs count by content: a path param's value is replaced by its digest, so moving
    an unchanged file does not miss the cache and editing it does.
    """
    params = {
        name: (f"digest:{inputs[name]['digest']}" if inputs.get(name, {}).get("digest") else value)
        for name, value in parameters.items()
    }
    payload = {
        "v": CACHE_KEY_VERSION,
        "tree": tree_digest,
        "entry_point": entry_point,
        "parameters": params,
        "lock": lock_digest,
        "inputs": {name: entry.get("digest") for name, entry in inputs.items()},
    }
    return sha256_bytes(canonical_json(payload).encode())


def find_cached(client: Client, key: str) -> str | None:
    """The newest FINISHED run (any experiment) whose cache key is ``key``, or None."""
    from harness.store.tracking import Tracking

    store = Tracking(client.tracking_uri, client=client)
    return store.newest_finished_with_tag(TAG_CACHE_KEY, key)
