"""The suite's xdist order: units of work longest first, a long module split into tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.support import scheduling

RECORDED = {
    "tests/a.py::test_1": 5.0,
    "tests/a.py::test_2": 5.0,
    "tests/b.py::test_1": 30.0,
    "tests/long.py::test_1": 200.0,
    "tests/long.py::test_2": 150.0,
}


@dataclass
class Item:
    nodeid: str


@pytest.fixture(autouse=True)
def recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    totals = {"tests/a.py": 10.0, "tests/b.py": 30.0, "tests/long.py": 350.0}
    monkeypatch.setattr(scheduling, "durations", lambda: RECORDED)
    monkeypatch.setattr(scheduling, "_module_totals", lambda: totals)


def test_a_module_is_one_unit_unless_it_is_too_long_for_one_worker() -> None:
    assert scheduling.scope_of("tests/a.py::test_2") == "tests/a.py"
    assert scheduling.scope_of("tests/long.py::test_2") == "tests/long.py::test_2"


def test_units_go_longest_first_and_a_modules_tests_stay_together_in_order() -> None:
    items = [
        Item(n)
        for n in (
            "tests/a.py::test_1",
            "tests/new.py::test_1",
            "tests/a.py::test_2",
            "tests/b.py::test_1",
            "tests/long.py::test_2",
            "tests/long.py::test_1",
        )
    ]
    scheduling.order_items(items)  # type: ignore[arg-type]
    assert [i.nodeid for i in items] == [
        "tests/long.py::test_1",
        "tests/long.py::test_2",
        "tests/b.py::test_1",
        "tests/a.py::test_1",
        "tests/a.py::test_2",
        "tests/new.py::test_1",  # unknown: UNKNOWN_S
    ]
