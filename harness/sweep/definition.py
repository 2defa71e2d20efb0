"""What a sweep is, as stored on its parent run, and what each trial left behind.

The definition (space, strategy, seed, metric, mode, launch options, trial count) is a JSON
tag on the parent run (and the same document as an artifact for people), so
``mlharness sweep --resume PARENT`` needs no other flag. Each trial's outcome is one more
tag on the parent, ``mlharness.sweep.trial.NNNN``: it names the run that answered the trial,
which for a cache hit is an earlier run that is not a child of this parent.

Both are pydantic dataclasses (``extra="forbid"``): written with ``to_json``/``to_tag`` and
read back through the same schema, so a corrupt, foreign or newer tag is one line naming the
run and the tag (``StoredStateError``, exit 2), not a traceback.
"""

from __future__ import annotations

import json
from dataclasses import asdict, field
from typing import Any, Literal

from pydantic import ConfigDict
from pydantic.dataclasses import dataclass

from harness.kernel.errors import StoredStateError
from harness.schemas.stored import parse_tag
from harness.sweep.space import Strategy

__all__ = [
    "ARTIFACT",
    "SCHEMA",
    "TAG_ATTEMPT",
    "TAG_BEST_RUN",
    "TAG_BEST_TRIAL",
    "TAG_BEST_VALUE",
    "TAG_DEFINITION",
    "TAG_PRUNED",
    "TAG_STATE",
    "TAG_STOP",
    "TAG_TRIAL",
    "Mode",
    "SweepDefinition",
    "TrialRecord",
    "TrialStatus",
    "trial_tag",
]

SCHEMA: Literal[1] = 1
ARTIFACT = "mlharness/sweep.json"
TAG_DEFINITION = "mlharness.sweep.definition"
TAG_STATE = "mlharness.sweep.state"
TAG_BEST_RUN = "mlharness.sweep.best_run_id"
TAG_BEST_TRIAL = "mlharness.sweep.best_trial"
TAG_BEST_VALUE = "mlharness.sweep.best_value"
# On child runs: which trial, which attempt at it, and the parent's stop request.
TAG_TRIAL = "mlharness.sweep.trial"
TAG_ATTEMPT = "mlharness.sweep.attempt"
TAG_STOP = "mlharness.sweep.stop"
TAG_PRUNED = "mlharness.sweep.pruned"
_TRIAL_PREFIX = "mlharness.sweep.trial."
_MAX_ERROR = 500

Mode = Literal["max", "min"]
TrialStatus = Literal["FINISHED", "FAILED", "PRUNED", "KILLED"]


# Stored records: unknown keys are refused (a foreign or newer writer), types are checked.
_STORED = ConfigDict(extra="forbid")


def trial_tag(index: int) -> str:
    """The parent's tag holding trial ``index``'s record."""
    return f"{_TRIAL_PREFIX}{index:04d}"


@dataclass(frozen=True, config=_STORED)
class SweepDefinition:
    """Everything needed to run (or resume) a sweep, except the tracking store."""

    project: str
    entry_point: str
    space: list[tuple[str, str]]
    strategy: Strategy
    trials: int
    seed: int
    metric: str | None = None
    mode: Mode = "max"
    env_manager: str | None = None
    experiment_name: str | None = None
    version: str | None = None
    jobs: int = 1
    cluster: str | None = None
    fail_fast: bool = False
    force: bool = False
    # An optimize sweep's sampler: class, seed, options and Optuna's version
    # (harness.sweep.optimize.sampler_record), so --resume rebuilds exactly that sampler.
    sampler: dict[str, Any] | None = None
    schema: Literal[1] = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_tag(cls, text: str, *, run_id: str) -> SweepDefinition:
        """The definition stored on parent run ``run_id``; ``StoredStateError`` (exit 2)
        naming the run and the tag when it is not one this mlharness writes."""
        return parse_tag(cls, text, owner=f"run {run_id}", tag=TAG_DEFINITION)


@dataclass(frozen=True, config=_STORED)
class TrialRecord:
    """One trial's outcome: its params, status and the run that holds its result."""

    index: int
    params: dict[str, str]
    status: TrialStatus
    run_id: str | None = None
    cached: bool = False
    value: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    wall_s: float | None = None
    # The run operation's own time inside the worker, and dispatch-to-result in the sweep:
    # their difference is the sweep's overhead for this trial.
    run_s: float | None = None
    elapsed_s: float | None = None
    log: str | None = None

    @property
    def done(self) -> bool:
        """Taken as is on resume (KILLED trials run again)."""
        return self.status != "KILLED"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_tag(self) -> str:
        data = self.to_dict()
        if data["error"]:
            data["error"] = str(data["error"])[:_MAX_ERROR]
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_tag(cls, text: str, *, run_id: str, tag: str) -> TrialRecord:
        """The record stored under ``tag`` of parent run ``run_id``; ``StoredStateError``
        (exit 2) naming both when it is not one."""
        record = parse_tag(cls, text, owner=f"run {run_id}", tag=tag)
        suffix = tag[len(_TRIAL_PREFIX) :]
        if tag.startswith(_TRIAL_PREFIX) and suffix.isdigit() and int(suffix) != record.index:
            raise StoredStateError(
                f"run {run_id}", tag, [f"index: {record.index} is not the tag's trial {suffix}"]
            )
        return record

    @staticmethod
    def all_from_tags(tags: dict[str, str], *, run_id: str) -> dict[int, TrialRecord]:
        """Every trial record among parent run ``run_id``'s tags, by index."""
        found: dict[int, TrialRecord] = {}
        for key, value in sorted(tags.items()):
            if key.startswith(_TRIAL_PREFIX) and key[len(_TRIAL_PREFIX) :].isdigit():
                record = TrialRecord.from_tag(value, run_id=run_id, tag=key)
                found[record.index] = record
        return found
