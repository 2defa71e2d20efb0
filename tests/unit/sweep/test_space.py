"""The sweep's space parser, stored definition and Optuna driver (no mlflow runs)."""

from __future__ import annotations

import pytest

from harness.kernel.errors import StoredStateError
from harness.sweep.definition import SweepDefinition, TrialRecord, trial_tag
from harness.sweep.operations import _cluster_problem
from harness.sweep.optimize import Optimizer
from harness.sweep.space import parse_space


def test_grid_is_the_product_in_the_order_given() -> None:
    space, problems = parse_space(
        [("n_estimators", "50,100"), ("max_depth", "3, 5 ,none"), ("seed", "1")], "grid"
    )
    assert problems == []
    grid = space.grid()
    assert len(grid) == 6
    assert grid[0] == {"n_estimators": "50", "max_depth": "3", "seed": "1"}
    assert grid[1] == {"n_estimators": "50", "max_depth": "5", "seed": "1"}
    assert grid[-1] == {"n_estimators": "100", "max_depth": "none", "seed": "1"}


def test_every_problem_is_reported_at_once() -> None:
    _, problems = parse_space(
        [
            ("a", ""),
            ("b", "1,,2"),
            ("c", "int(5,2)"),
            ("d", "loguniform(0,1)"),
            ("e", "gauss(0,1)"),
            ("f", "int(1.5,3)"),
            ("g", "uniform(1)"),
            ("h", "choice()"),
        ],
        "random",
    )
    assert len(problems) == 8, problems
    text = " | ".join(problems)
    assert "-P a=: empty list" in text
    assert "-P b=1,,2: empty value" in text
    assert "int(5,2): low 5 must be below high 2" in text
    assert "loguniform needs 0 < low < high" in text
    assert "unknown distribution 'gauss'" in text
    assert "'1.5' is not an integer" in text
    assert "uniform() takes 2 values" in text
    assert "choice() needs one or more" in text


def test_a_range_in_a_grid_is_refused_but_choice_is_a_list() -> None:
    space, problems = parse_space([("lr", "loguniform(1e-4,1e-1)"), ("k", "choice(a,b)")], "grid")
    assert len(problems) == 1 and "needs --random N or --optimize" in problems[0]
    assert [d.values for d in space.dimensions] == [("a", "b")]


def test_random_samples_are_seeded_and_inside_their_ranges() -> None:
    specs = [("lr", "loguniform(1e-4,1e-1)"), ("depth", "int(2,12)"), ("k", "choice(x,y)")]
    space, problems = parse_space(specs, "random")
    assert problems == []
    first, again, other = space.sample(20, 7), space.sample(20, 7), space.sample(20, 8)
    assert first == again and first != other
    for params in first:
        assert 1e-4 <= float(params["lr"]) <= 1e-1
        assert 2 <= int(params["depth"]) <= 12 and params["depth"].isdigit()
        assert params["k"] in {"x", "y"}
    # Both ends of each range are probed before launch.
    assert {p["depth"] for p in space.probe_sets()} == {"2", "12"}


def test_definition_and_trial_records_round_trip_through_tags() -> None:
    definition = SweepDefinition(
        project="/p", entry_point="main", space=[("x", "1,2")], strategy="grid", trials=2, seed=1
    )
    assert SweepDefinition.from_tag(definition.to_json(), run_id="p") == definition
    with pytest.raises(StoredStateError, match=r"run p: tag mlharness\.sweep\.definition"):
        SweepDefinition.from_tag('{"schema": 99}', run_id="p")
    record = TrialRecord(3, {"x": "2"}, "FAILED", run_id="r", error="boom " * 200)
    back = TrialRecord.from_tag(record.to_tag(), run_id="p", tag=trial_tag(3))
    assert back.index == 3 and back.status == "FAILED" and len(back.error or "") == 500
    tags = {trial_tag(3): record.to_tag(), "mlharness.sweep.trial.x": "{}", "other": "1"}
    assert list(TrialRecord.all_from_tags(tags, run_id="p")) == [3]
    assert not TrialRecord(0, {}, "KILLED").done and TrialRecord(0, {}, "PRUNED").done


def test_a_cluster_needs_a_store_the_workers_can_share() -> None:
    assert _cluster_problem("tcp://h:1", "sqlite:////tmp/x.db") is not None
    assert _cluster_problem("tcp://h:1", "file:///tmp/mlruns") is not None
    assert _cluster_problem("tcp://h:1", "/tmp/mlruns") is not None
    assert _cluster_problem("tcp://h:1", "http://127.0.0.1:5000") is None
    assert _cluster_problem("tcp://h:1", "postgresql://u@db/mlflow") is None


def test_optimizer_asks_within_the_space_and_rebuilds_from_finished_trials() -> None:
    space, _ = parse_space([("x", "uniform(0,10)"), ("k", "int(1,3)"), ("fixed", "7")], "optimize")
    opt = Optimizer(space, seed=1, mode="max")
    trial, params = opt.ask()
    assert list(params) == ["x", "k", "fixed"] and params["fixed"] == "7"
    assert 0 <= float(params["x"]) <= 10 and params["k"] in {"1", "2", "3"}
    opt.tell(trial, TrialRecord(0, params, "FINISHED"), 5.0)
    rebuilt = Optimizer(space, seed=1, mode="max")
    rebuilt.add_finished(TrialRecord(0, params, "FINISHED"), 5.0)
    rebuilt.add_finished(TrialRecord(1, {"x": "2.5", "k": "1"}, "PRUNED"), None)
    rebuilt.add_finished(TrialRecord(2, {"x": "99", "k": "1"}, "FINISHED"), 1.0)  # outside: skipped
    states = [t.state.name for t in rebuilt.study.trials]
    assert states == ["COMPLETE", "PRUNED"]
    assert rebuilt.study.best_value == 5.0
