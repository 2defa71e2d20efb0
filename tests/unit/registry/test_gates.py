"""The gate grammar: what parses, what is refused (with a column), and that nothing is eval'ed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.kernel.errors import ExitCode
from registry_tools.errors import RegistryError
from registry_tools.gates import Gate, Subject, check, parse_gate, referenced_aliases


@pytest.mark.parametrize(
    "text,expected",
    [
        ("accuracy>=0.9", Gate("accuracy", ">=", number=0.9)),
        ("  accuracy >= 0.9  ", Gate("accuracy", ">=", number=0.9)),
        ("log_loss<0.2", Gate("log_loss", "<", number=0.2)),
        ("f1 >= champion.f1", Gate("f1", ">=", alias="champion", ref_metric="f1")),
        ("val/acc==1e-3", Gate("val/acc", "==", number=0.001)),
        ("a.b-c != -2", Gate("a.b-c", "!=", number=-2.0)),
        ("roc_auc>.5", Gate("roc_auc", ">", number=0.5)),
        ("x<=my-alias_2.metric.sub", Gate("x", "<=", alias="my-alias_2", ref_metric="metric.sub")),
        ("x>2024.f1", Gate("x", ">", alias="2024", ref_metric="f1")),
    ],
)
def test_valid_gates_parse(text: str, expected: Gate) -> None:
    assert parse_gate(text) == expected


@pytest.mark.parametrize(
    "text,column,expected",
    [
        ("", 1, "a metric name"),
        (">=0.9", 1, "a metric name"),
        ("accuracy", 9, "a comparison"),
        ("accuracy=0.9", 9, "a comparison"),
        ("accuracy=>0.9", 9, "a comparison"),
        ("accuracy>=", 11, "a number or ALIAS.METRIC"),
        ("accuracy>=champion", 11, "a number or ALIAS.METRIC"),
        ("accuracy>=0.9 and 1", 15, "the end of the gate"),
        ("accuracy>>0.9", 10, "a number or ALIAS.METRIC"),
        ("accuracy>=champion.", 11, "a number or ALIAS.METRIC"),
        ("__import__('os')", 11, "a comparison"),
        ("accuracy>=__import__('os').system('true')", 11, "a number or ALIAS.METRIC"),
        ("1accuracy>=0.9", 1, "a metric name"),
        ("accuracy>=0.9;rm", 14, "the end of the gate"),
    ],
)
def test_malformed_gates_name_the_column(text: str, column: int, expected: str) -> None:
    with pytest.raises(RegistryError) as caught:
        parse_gate(text)
    message = caught.value.one_line()
    assert f"at column {column}" in message and expected in message, message
    assert "\n" not in message
    assert caught.value.exit_code == ExitCode.BAD_INPUT


def test_python_is_never_evaluated(tmp_path: object) -> None:
    """A gate that would have a side effect if eval'ed is refused before anything runs."""
    import builtins

    calls: list[str] = []
    real_import = builtins.__import__

    def spy(name: str, *args: object, **kwargs: object) -> object:
        calls.append(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    builtins.__import__ = spy  # type: ignore[assignment]
    try:
        with pytest.raises(RegistryError):
            parse_gate("__import__('os').system('echo pwned')>=1")
    finally:
        builtins.__import__ = real_import
    assert "os" not in calls


_metric = st.from_regex(r"[A-Za-z_][A-Za-z0-9_./-]{0,12}", fullmatch=True)
_alias = st.from_regex(r"[A-Za-z0-9_-]{1,10}", fullmatch=True)
_op = st.sampled_from([">=", ">", "<=", "<", "==", "!="])
_number = st.floats(allow_nan=False, allow_infinity=False, width=32)


@given(_metric, _op, st.one_of(_number, st.tuples(_alias, _metric)))
def test_canonical_text_parses_back_to_the_same_gate(
    metric: str, op: str, right: float | tuple[str, str]
) -> None:
    if isinstance(right, tuple):
        gate = Gate(metric, op, alias=right[0], ref_metric=right[1])
    else:
        gate = Gate(metric, op, number=float(right))
    assert parse_gate(gate.text) == gate


def _subject(label: str, **metrics: float) -> Subject:
    return Subject(label, label, metrics)


def test_check_against_constant_and_alias() -> None:
    candidate = _subject("v2", accuracy=0.95, f1=0.90)
    champion = _subject("v1", f1=0.92)
    passed = check(parse_gate("accuracy>=0.9"), candidate, {})
    assert passed.passed and passed.reference == 0.9 and passed.against == "constant"
    failed = check(parse_gate("f1>=champion.f1"), candidate, {"champion": champion})
    assert not failed.passed and failed.candidate == 0.90 and failed.reference == 0.92
    assert failed.against == "champion (v1)"


def test_gate_against_an_alias_nobody_holds_is_skipped_and_passes() -> None:
    result = check(parse_gate("f1>=champion.f1"), _subject("v1", f1=0.5), {"champion": None})
    assert result.passed and result.skipped and result.reference is None


@pytest.mark.parametrize("gate,where", [("auc>=0.5", "v2"), ("f1>=champion.auc", "v1")])
def test_missing_metric_is_a_clear_error(gate: str, where: str) -> None:
    with pytest.raises(RegistryError) as caught:
        check(parse_gate(gate), _subject("v2", f1=0.9), {"champion": _subject("v1", f1=0.8)})
    assert f"metric 'auc' missing on {where}; available: f1" in caught.value.one_line()


def test_referenced_aliases_in_first_mention_order() -> None:
    gates = [parse_gate(t) for t in ("a>=b.c", "a>1", "x<staging.y", "z==b.q")]
    assert referenced_aliases(gates) == ["b", "staging"]
