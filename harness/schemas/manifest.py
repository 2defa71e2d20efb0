"""The run manifest: build it, write it canonically, digest it, and refuse bad ones.

One canonical form (sorted keys, no spaces) gives one digest; the digest is stored as the
run tag ``mlharness.manifest_digest`` so a manifest edited by hand is detected. A manifest
from a newer schema is refused rather than half understood, and one that is not what
:class:`RunManifest` declares is refused with every problem and its key path
(``run_spec.parameters.alpha: Input should be a valid string``).

Operations pass and return the validated :class:`RunManifest`, never a dict; its
``as_json_dict()`` gives back the very JSON it was validated from (the fields that were
absent stay absent, a JSON ``1`` stays ``1``), so the digest of a manifest read back is the
digest it was logged with.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

from harness.kernel.atomic import write_text_atomic
from harness.kernel.digests import path_digest, sha256_bytes
from harness.kernel.errors import SpecError
from harness.kernel.jsonout import canonical_json
from harness.kernel.run_tags import (
    ARTIFACT_DIR,
    ARTIFACT_PATH,
    TAG_CACHE_KEY,
    TAG_DIGEST,
    TAG_REPLAY_OF,
)
from harness.schemas.validation import one_line, validate

__all__ = [
    "ARTIFACT_DIR",
    "ARTIFACT_PATH",
    "SCHEMA_VERSION",
    "SEED_HINTS",
    "TAG_CACHE_KEY",
    "TAG_DIGEST",
    "TAG_REPLAY_OF",
    "EnvironmentSection",
    "InputDigest",
    "ManifestError",
    "RunManifest",
    "RunSpecSection",
    "SourceSection",
    "Timings",
    "canonical_json",
    "check",
    "digest",
    "input_digests",
    "loads",
    "output_digests",
    "seeds_of",
    "write",
]

SCHEMA_VERSION = 1
SEED_HINTS = ("seed", "random_state")


class ManifestError(SpecError):
    """A manifest is not what schema 1 declares; ``problems`` lists each with its key path."""

    def __init__(self, where: str, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            f"{where}: the manifest has {len(self.problems)} problem(s): " + "; ".join(problems),
            hint="was it written by mlharness run?",
        )


def _keep_json_int(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    """A number checked as a strict float, kept an ``int`` when the JSON held one: the
    float validator would turn ``1`` into ``1.0``, another canonical text, another digest."""
    checked = handler(value)
    return value if type(value) is int else checked


# A JSON number: validated as a (strict) float, written back exactly as it was read.
JsonFloat = Annotated[float, WrapValidator(_keep_json_int), PlainSerializer(lambda v: v)]
NonNegativeJsonFloat = Annotated[
    float, Field(ge=0), WrapValidator(_keep_json_int), PlainSerializer(lambda v: v)
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    def as_json_dict(self) -> dict[str, Any]:
        """The JSON this was validated from: the fields given (even as None), no defaults
        of fields that were absent, numbers as they were. The one form that is written
        and digested."""
        return self.model_dump(mode="json", exclude_unset=True)


class SourceSection(_Section):
    """Where the code came from (``launch.Plan.source_section``)."""

    uri: str
    commit: str | None
    subdir: str
    version: str | None
    dirty: bool
    diff_digest: str | None
    tree_digest: str | None = None
    template: dict[str, object] | None = None


class RunSpecSection(_Section):
    """What ran (``launch.Plan.run_spec_section``)."""

    entry_point: str
    parameters: dict[str, str]
    env_manager: str
    experiment_name: str | None
    run_name: str | None


class EnvironmentSection(_Section):
    """The interpreter and packages it ran on (``environment.describe``)."""

    python: str | None
    platform: str
    env_manager: str
    lock_digest: str
    pip_freeze: list[str]
    variables: dict[str, str]
    # A replay in a recorded environment (``--recorded-env``): its cache key, path and the
    # run whose manifest it was built from.
    recorded_env: dict[str, str] | None = None


class InputDigest(_Section):
    """A ``path``/``uri`` parameter and the digest of what it named (None when remote)."""

    value: str
    digest: str | None


class Timings(_Section):
    started: str
    finished: str
    duration_s: NonNegativeJsonFloat


class RunManifest(_Section):
    """Schema 1 of the manifest: every section, every field, nothing else."""

    schema_version: int
    source: SourceSection
    run_spec: RunSpecSection
    environment: EnvironmentSection
    inputs: dict[str, InputDigest]
    outputs: dict[str, str]
    metrics: dict[str, JsonFloat]
    seeds: dict[str, str]
    timings: Timings
    cache_key: str


def _json_of(manifest: RunManifest | Mapping[str, Any]) -> object:
    return manifest.as_json_dict() if isinstance(manifest, RunManifest) else manifest


def digest(manifest: RunManifest | Mapping[str, Any]) -> str:
    """Hex sha256 of the canonical JSON of a manifest, or of the JSON as read from the
    artifact (the digest is checked against what was logged, before it is trusted)."""
    return sha256_bytes(canonical_json(_json_of(manifest)).encode())


def seeds_of(parameters: dict[str, str]) -> dict[str, str]:
    """Parameters that look like seeds (``seed``, ``random_state``...)."""
    return {k: v for k, v in parameters.items() if any(h in k.lower() for h in SEED_HINTS)}


def input_digests(inputs: dict[str, str]) -> dict[str, dict[str, str | None]]:
    """``{param: {"value", "digest"}}`` for path/uri params; remote URIs get no digest."""
    from harness.store.mlflow_api import local_path_or_none

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


def write(manifest: RunManifest, target: Path) -> None:
    """Write the manifest (readable indentation; the digest is over the canonical form)."""
    write_text_atomic(
        target,
        json.dumps(manifest.as_json_dict(), sort_keys=True, indent=2, ensure_ascii=False) + "\n",
    )


def loads(text: str | bytes, *, where: str) -> object:
    """The JSON of a manifest file; empty, truncated or binary content is a ManifestError
    (exit 2) naming ``where``, not a decoder traceback. :func:`check` validates the rest."""
    try:
        return json.loads(text)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise ManifestError(where, [f"(top level): not JSON: {one_line(exc)}"]) from exc


def check(manifest: object, expected_digest: str | None, *, where: str) -> RunManifest:
    """Refuse a manifest that is malformed, from a newer schema, or edited since it was
    logged; returns it as a :class:`RunManifest`.

    The schema version is looked at first (a newer manifest is refused as such, not as a
    list of unknown fields), then every problem against :class:`RunManifest` at once, then
    the digest tag (over the JSON as read).
    """
    if not isinstance(manifest, dict):
        raise ManifestError(where, ["(top level): not a JSON object"])
    version = manifest.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ManifestError(where, ["schema_version: missing or not an integer"])
    if version > SCHEMA_VERSION:
        raise SpecError(
            f"{where}: manifest schema_version {version} is newer than this mlharness "
            f"understands ({SCHEMA_VERSION})",
            hint="upgrade mlharness",
        )
    checked = validate(RunManifest, manifest, where, error=ManifestError)
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
    return checked
