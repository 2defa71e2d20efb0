"""The sweep memo: a re-run of a finished sweep answered without importing MLflow.

Like the run operation's hit memo, one level up. When a grid or random sweep ends with every
trial FINISHED, a memo maps a fingerprint of its definition (project, entry point, space,
strategy, seed, trial count, launch options, tracking store, working directory) to its parent
run and its trials' run ids. The next identical sweep answers from it only when the hit memo
confirms every trial (code tree, parameters, environment lock, input files, and the store
itself: the newest FINISHED run with the trial's cache key must be the recorded run); any
doubt returns None and the sweep runs its normal path (which answers each trial from the
cache with a new parent). The answer is the earlier sweep, every trial shown as cached.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from harness.kernel.atomic import write_text_atomic
from harness.kernel.digests import sha256_bytes
from harness.kernel.errors import StoredStateError
from harness.kernel.jsonout import canonical_json
from harness.sweep.definition import SweepDefinition, TrialRecord

__all__ = ["MEMO_VERSION", "answer", "remember"]

MEMO_VERSION = 1


def _fingerprint(definition: SweepDefinition, tracking_uri: str, cwd: str) -> str:
    fields = dataclasses.asdict(definition)
    for launch_only in ("jobs", "fail_fast", "metric", "mode"):
        fields.pop(launch_only)  # they change how it runs or is ranked, not what runs
    payload = {"v": MEMO_VERSION, "definition": fields, "uri": tracking_uri, "cwd": cwd}
    return sha256_bytes(canonical_json(payload).encode())


def _memo_file(fp: str) -> Path:
    from harness.kernel.cache import cache_home

    return cache_home() / "sweeps" / f"{fp}.json"


def _eligible(definition: SweepDefinition) -> bool:
    return definition.strategy != "optimize" and not (
        definition.force or definition.version or definition.cluster
    )


def remember(
    definition: SweepDefinition, tracking_uri: str, parent_run_id: str, trials: list[TrialRecord]
) -> None:
    """Write the memo of a sweep whose every trial FINISHED; never fails the sweep."""
    if not _eligible(definition) or len(trials) != definition.trials:
        return
    if not all(t.status == "FINISHED" and t.run_id for t in trials):
        return
    entry = {
        "v": MEMO_VERSION,
        "parent_run_id": parent_run_id,
        "trials": [t.to_dict() for t in trials],
    }
    try:
        fp = _fingerprint(definition, tracking_uri, os.getcwd())
        write_text_atomic(_memo_file(fp), json.dumps(entry))
    except OSError:
        return


def answer(
    definition: SweepDefinition, tracking_option: str | None, sets: list[dict[str, str]]
) -> tuple[str, list[TrialRecord]] | None:
    """The earlier sweep's parent and trials (all cached) when every trial is confirmed."""
    from harness.run import run_memo as hit_memo

    if not _eligible(definition):
        return None
    try:
        cwd = os.getcwd()
        uri = hit_memo.resolve_tracking_uri(tracking_option, cwd)
        if uri is None:
            return None
        entry = json.loads(_memo_file(_fingerprint(definition, uri, cwd)).read_text())
        if not isinstance(entry, dict) or entry.get("v") != MEMO_VERSION:
            return None
        trials = [
            TrialRecord.from_tag(json.dumps(t), run_id="(memo)", tag="(memo)")
            for t in entry["trials"]
        ]
        if [t.params for t in trials] != sets:
            return None
        answered = []
        for trial in trials:
            probe = hit_memo.probe(
                hit_memo.Request(
                    definition.project,
                    definition.entry_point,
                    dict(trial.params),
                    definition.env_manager,
                    definition.experiment_name,
                    uri,
                )
            )
            hit = hit_memo.answer(probe) if probe is not None else None
            if hit is None or hit.run_id != trial.run_id:
                return None
            answered.append(dataclasses.replace(trial, cached=True, run_s=0.0, elapsed_s=0.0))
        return str(entry["parent_run_id"]), answered
    except (OSError, ValueError, KeyError, TypeError, StoredStateError):
        return None
