"""Sweeps replay exactly: an optimize sweep stores its sampler (class, seed, options, Optuna's
version) in its definition, ``--resume`` rebuilds exactly that sampler, and a note says when
the installed Optuna is not the recorded one."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient

from harness.sweep.definition import TAG_DEFINITION, SweepDefinition, TrialRecord, trial_tag
from harness.sweep.optimize import SAMPLER_OPTIONS, Optimizer
from harness.sweep.space import parse_space
from tests.support.store_cli_forks import ForkedCli
from tests.support.sweeps import STEPS, mlharness_sweep, result_of

pytestmark = pytest.mark.functional
LOCAL = ("--env-manager", "local")


def _expected_next(definition: SweepDefinition, kept: list[TrialRecord]) -> dict[str, str]:
    """What the recorded sampler proposes after the kept trials, driven in this process."""
    space, problems = parse_space(definition.space, definition.strategy)
    assert not problems
    optimizer = Optimizer(space, definition.seed, definition.mode, definition.sampler)
    for record in kept:
        optimizer.add_finished(record, record.value)
    return optimizer.ask()[1]


def test_resume_rebuilds_the_recorded_sampler_and_notes_another_optuna(
    tracking_uri: str, tmp_path: Path, forks: ForkedCli
) -> None:
    done = mlharness_sweep(
        str(STEPS), "-P", "x=uniform(0,10)", "-P", "steps=1", "--optimize", "--trials", "3",
        "--seed", "5", "--metric", "score", *LOCAL, "--json",
        tracking_uri=tracking_uri, cwd=tmp_path, forks=forks,
    )  # fmt: skip
    assert done.returncode == 0, done.output
    doc = result_of(done)
    parent = doc["parent_run_id"]
    client = MlflowClient(tracking_uri)
    stored = json.loads(client.get_run(parent).data.tags[TAG_DEFINITION])
    assert stored["sampler"] == {
        "name": "TPESampler",
        "seed": 5,
        "options": SAMPLER_OPTIONS,
        "optuna": optuna.__version__,
    }

    # The last trial is forgotten and the record is changed: another sampler seed, and an
    # Optuna version that is not the installed one. --resume must use exactly the record.
    stored["sampler"]["seed"] = 6
    stored["sampler"]["optuna"] = "4.0.0"
    client.set_tag(parent, TAG_DEFINITION, json.dumps(stored))
    client.delete_tag(parent, trial_tag(2))
    # ... and its run, which resume would otherwise adopt as the trial's result.
    (last,) = [t for t in doc["trials"] if t["index"] == 2]
    client.delete_run(last["run_id"])
    definition = SweepDefinition.from_tag(json.dumps(stored), run_id=parent)
    kept = [
        TrialRecord.from_tag(client.get_run(parent).data.tags[trial_tag(i)], run_id=parent,
                             tag=trial_tag(i))
        for i in (0, 1)
    ]  # fmt: skip
    expected = _expected_next(definition, kept)
    with_seed_5 = _expected_next(
        SweepDefinition.from_tag(
            json.dumps({**stored, "sampler": {**stored["sampler"], "seed": 5}}), run_id=parent
        ),
        kept,
    )
    assert expected != with_seed_5  # the seed in the record decides the proposal

    resumed = mlharness_sweep("--resume", parent, "--json", tracking_uri=tracking_uri,
                              cwd=tmp_path, forks=forks)  # fmt: skip
    assert resumed.returncode == 0, resumed.output
    again = result_of(resumed)
    assert again["resumed"] is True
    (third,) = [t for t in again["trials"] if t["index"] == 2]
    assert third["run_id"] != last["run_id"]
    assert third["params"] == expected
    (note,) = again["notes"]
    assert "recorded with Optuna 4.0.0" in note and optuna.__version__ in note
    assert "optuna==4.0.0" in note
