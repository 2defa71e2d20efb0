"""Run manifests for the tests: a complete schema-1 manifest as its JSON, and the same
validated into the ``RunManifest`` that operations pass around."""

from __future__ import annotations

from typing import Any

from harness.schemas.manifest import RunManifest


def manifest_json() -> dict[str, Any]:
    """A complete manifest as ``mlharness run`` writes it today (every field, the optional
    ``tree_digest`` and ``template`` given, no ``recorded_env``); a new dict each call."""
    return {
        "schema_version": 1,
        "source": {
            "uri": "/r",
            "commit": "a" * 40,
            "subdir": "rf",
            "version": None,
            "dirty": False,
            "diff_digest": None,
            "tree_digest": "d" * 64,
            "template": None,
        },
        "run_spec": {
            "entry_point": "main",
            "parameters": {"alpha": "0.5"},
            "env_manager": "local",
            "experiment_name": None,
            "run_name": None,
        },
        "environment": {
            "python": "3.11.7",
            "platform": "Linux",
            "env_manager": "local",
            "lock_digest": "e" * 64,
            "pip_freeze": ["mlflow==3.17.2"],
            "variables": {},
        },
        "inputs": {"data": {"value": "/d.csv", "digest": "f" * 64}},
        "outputs": {"x.png": "b" * 64},
        "metrics": {"acc": 0.5},
        "seeds": {},
        "timings": {"started": "t0", "finished": "t1", "duration_s": 1.5},
        "cache_key": "c" * 64,
    }


def run_manifest(doc: dict[str, Any] | None = None) -> RunManifest:
    """``doc`` (default :func:`manifest_json`) validated as a ``RunManifest``."""
    return RunManifest.model_validate(manifest_json() if doc is None else doc)
