"""The names mlharness gives its tags and artifacts on a run: the contract between the
run that writes them and every reader (cache, memo, replay, lineage, sweeps).

In the kernel (standard library only) so that the run memo, which answers a cached
``mlharness run`` without importing MLflow or pydantic, reads the same names as the
manifest schema that writes them.
"""

from __future__ import annotations

__all__ = ["ARTIFACT_DIR", "ARTIFACT_PATH", "TAG_CACHE_KEY", "TAG_DIGEST", "TAG_REPLAY_OF"]

ARTIFACT_DIR = "mlharness"
ARTIFACT_PATH = f"{ARTIFACT_DIR}/manifest.json"
TAG_DIGEST = "mlharness.manifest_digest"
TAG_CACHE_KEY = "mlharness.cache_key"
TAG_REPLAY_OF = "mlharness.replay_of"
