"""Size-dependent defaults, per-column overrides and every problem reported at once."""

from __future__ import annotations

import pytest

from harness.kernel.assignments import AssignmentError
from harness.kernel.errors import ConfigError
from monitoring.policy import Policy, Rule, make_policy


@pytest.mark.parametrize(
    ("kind", "rows", "method", "threshold"),
    [
        ("numerical", 1000, "ks", 0.05),
        ("numerical", 1001, "wasserstein", 0.1),
        ("categorical", 1000, "chisquare", 0.05),
        ("categorical", 5000, "jensenshannon", 0.1),
    ],
)
def test_defaults_depend_on_reference_size(
    kind: str, rows: int, method: str, threshold: float
) -> None:
    assert Policy().rule_for("c", kind, rows) == Rule(method, threshold)


def test_p_value_tests_drift_below_and_distances_at_or_above_threshold() -> None:
    assert Rule("ks", 0.05).drifted(0.049) and not Rule("ks", 0.05).drifted(0.05)
    assert Rule("wasserstein", 0.1).drifted(0.1) and not Rule("wasserstein", 0.1).drifted(0.09)


def test_overrides_win_and_take_default_thresholds() -> None:
    policy = make_policy(["a=psi", "b=ks:0.01"], drift_share=0.3)
    assert policy.rule_for("a", "numerical", 10) == Rule("psi", 0.1)
    assert policy.rule_for("b", "numerical", 10**6) == Rule("ks", 0.01)
    assert policy.drift_share == 0.3


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(AssignmentError) as info:
        make_policy(["a=nope", "b=ks:x", "nothing"], drift_share=2)
    assert len(info.value.problems) == 4
    text = info.value.one_line()
    assert "--stattest 'a=nope'" in text and "--stattest 'nothing' is not KEY=VALUE" in text
    assert "--drift-share 2" in text
    policy = make_policy(["num=chisquare", "gone=ks"])
    with pytest.raises(ConfigError) as info:
        policy.check({"num": "numerical"})
    text = info.value.one_line()
    assert "stattest.num" in text and "stattest.gone" in text
