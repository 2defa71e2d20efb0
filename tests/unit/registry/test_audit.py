"""Audit records: encode/decode (model-tag JSON and version tags) and rollback replay."""

from __future__ import annotations

import pytest

from registry_tools.audit import (
    AuditRecord,
    last_seq,
    replay,
    seq_key,
    trail,
    trail_key,
)
from registry_tools.errors import RegistryError
from registry_tools.gates import GateResult

GATES = (
    GateResult("accuracy>=0.9", 0.95, 0.9, "constant", True),
    GateResult("f1>=champion.f1", 0.91, None, "champion (no holder)", True, skipped=True),
)


def _record(seq: int, action: str, version: str | None, previous: str | None) -> AuditRecord:
    return AuditRecord(
        seq=seq,
        alias="champion",
        action=action,
        version=version,  # type: ignore[arg-type]
        previous=previous,
        time="2026-01-01T00:00:00+00:00",
        user="ml",
        gates=GATES,
        evaluation={"2": "abc"} if action == "promote" else None,
    )


def test_json_round_trip() -> None:
    record = _record(3, "promote", "2", "1")
    assert AuditRecord.from_json(record.to_json()) == record


def test_version_tags_round_trip_without_evaluation_ids() -> None:
    record = _record(4, "promote", "2", None)
    tags = record.version_tags()
    assert tags["mlharness.champion.previous"] == ""
    assert tags["mlharness.champion.user"] == "ml"
    decoded = AuditRecord.from_version_tags("champion", "2", tags)
    assert decoded == AuditRecord(
        seq=4,
        alias="champion",
        action="promote",
        version="2",
        previous=None,
        time=record.time,
        user="ml",
        gates=GATES,
    )


@pytest.mark.parametrize(
    "text", ["not json", "{}", '{"seq":1,"alias":"a","action":"steal","time":"t","user":"u"}']
)
def test_corrupt_record_is_a_registry_error(text: str) -> None:
    with pytest.raises(RegistryError, match=r"mlharness\.audit\.champion\.000001") as caught:
        AuditRecord.from_json(text, model="rf", key="mlharness.audit.champion.000001")
    assert "registered model 'rf'" in caught.value.one_line()


def test_a_corrupt_record_lists_every_problem_at_once() -> None:
    text = '{"seq":"x","alias":"a","action":"steal","time":"t","user":"u","colour":1}'
    with pytest.raises(RegistryError) as caught:
        AuditRecord.from_json(text, model="rf", key="k")
    line = caught.value.one_line()
    assert all(word in line for word in ("seq", "action", "colour", "version", "previous"))
    assert "\n" not in line


def test_trail_reads_only_its_alias_in_seq_order() -> None:
    records = [_record(s, "set", str(s), str(s - 1) if s > 1 else None) for s in (1, 2, 10)]
    tags = {trail_key("champion", r.seq): r.to_json() for r in reversed(records)}
    tags[trail_key("staging", 1)] = _record(1, "set", "9", None).to_json()
    tags[seq_key("champion")] = "10"
    tags["other"] = "x"
    assert [r.seq for r in trail("champion", tags)] == [1, 2, 10]
    assert last_seq("champion", tags) == 10 and last_seq("nobody", tags) == 0


def test_replay_is_a_stack_so_rollbacks_walk_back() -> None:
    history = [
        _record(1, "set", "1", None),
        _record(2, "promote", "2", "1"),
        _record(3, "promote", "3", "2"),
    ]
    assert replay(history).holder == "3" and replay(history).undo == (None, "1", "2")
    history.append(_record(4, "rollback", "2", "3"))
    assert replay(history).holder == "2" and replay(history).undo == (None, "1")
    history.append(_record(5, "remove", None, "2"))
    state = replay(history)
    assert state.holder is None and state.undo[-1] == "2"
