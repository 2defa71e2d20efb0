"""The run manifest: build it, write it canonically, digest it, and refuse bad ones.

One canonical form (sorted keys, no spaces) gives one digest; the digest is stored as the
run tag ``mlharness.manifest_digest`` so a manifest edited by hand is detected. A manifest
from a newer schema is refused rather than half understood.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.kernel.atomic import write_text_atomic
from harness.kernel.digests import path_digest, sha256_bytes
from harness.kernel.errors import SpecError
from harness.kernel.jsonout import canonical_json

SCHEMA_VERSION = 1
ARTIFACT_DIR = "mlharness"
ARTIFACT_PATH = f"{ARTIFACT_DIR}/manifest.json"
TAG_DIGEST = "mlharness.manifest_digest"
TAG_CACHE_KEY = "mlharness.cache_key"
TAG_REPLAY_OF = "mlharness.replay_of"
SEED_HINTS = ("seed", "random_state")
REQUIRED_SECTIONS = (
    "schema_version",
    "source",
    "run_spec",
    "environment",
    "inputs",
    "outputs",
    "metrics",
    "seeds",
    "timings",
    "cache_key",
)

Manifest = dict[str, Any]


def digest(manifest: Manifest) -> str:
    """Hex sha256 of the canonical JSON."""
    return sha256_bytes(canonical_json(manifest).encode())


def seeds_of(parameters: dict[str, str]) -> dict[str, str]:
    """Parameters that look like seeds (``seed``, ``random_state``...)."""
    return {k: v for k, v in parameters.items() if any(h in k.lower() for h in SEED_HINTS)}


def input_digests(inputs: dict[str, str]) -> dict[str, dict[str, str | None]]:
    """``{param: {"value", "digest"}}`` for path/uri params; remote URIs get no digest."""
    from harness.mlflow_api import local_path_or_none

    result: dict[str, dict[str, str | None]] = {}
    for name, value in sorted(inputs.items()):
        local = local_path_or_none(value)
        path = Path(local) if local is not None else None
        found = path is not None and path.exists()
        result[name] = {"value": value, "digest": path_digest(path) if path and found else None}
    return result


def output_digests(directory: Path) -> dict[str, str]:
    """``{artifact path: sha256}`` of every file under a downloaded artifact directory."""
    return {
        path.relative_to(directory).as_posix(): path_digest(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file()
        and not path.relative_to(directory).as_posix().startswith(f"{ARTIFACT_DIR}/")
    }


def write(manifest: Manifest, target: Path) -> None:
    """Write the manifest (readable indentation; the digest is over the canonical form)."""
    write_text_atomic(
        target, json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    )


def check(manifest: object, expected_digest: str | None, *, where: str) -> Manifest:
    """Refuse a manifest that is malformed, from a newer schema, or edited since it was
    logged; returns it typed."""
    if not isinstance(manifest, dict):
        raise SpecError(f"{where}: the manifest is not a JSON object")
    version = manifest.get("schema_version")
    if not isinstance(version, int):
        raise SpecError(f"{where}: the manifest has no integer schema_version")
    if version > SCHEMA_VERSION:
        raise SpecError(
            f"{where}: manifest schema_version {version} is newer than this mlharness "
            f"understands ({SCHEMA_VERSION})",
            hint="upgrade mlharness",
        )
    missing = [key for key in REQUIRED_SECTIONS if key not in manifest]
    if missing:
        raise SpecError(f"{where}: the manifest lacks {', '.join(missing)}")
    if expected_digest is None:
        raise SpecError(
            f"{where}: the run has no {TAG_DIGEST} tag", hint="was it launched by mlharness run?"
        )
    actual = digest(manifest)
    if actual != expected_digest:
        raise SpecError(
            f"{where}: the manifest does not match its digest (tag {expected_digest[:12]}..., "
            f"content {actual[:12]}...): it was edited after the run",
            hint="replay only an untouched manifest",
        )
    return manifest
