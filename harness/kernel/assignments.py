"""The one ``KEY=VALUE`` parser: ``-P``, ``--set``, tags, ``--rtol`` and ``--stattest``.

Every malformed pair is reported at once, under the option the user typed, with one error
class, so each command fails the same way for the same mistake.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from harness.kernel.errors import MlharnessError

__all__ = ["AssignmentError", "parse_assignments", "parse_typed_assignments"]

T = TypeVar("T")


class AssignmentError(MlharnessError):
    """One or more ``KEY=VALUE`` options are malformed (exit 2); ``problems`` lists each."""

    def __init__(self, problems: Sequence[str], *, hint: str | None = None) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems), hint=hint)


def _split(option: str, pairs: Sequence[str]) -> tuple[list[tuple[str, str, str]], list[str]]:
    parsed: list[tuple[str, str, str]] = []
    problems: list[str] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(f"{option} {pair!r} is not KEY=VALUE")
        else:
            parsed.append((pair, key, value))
    return parsed, problems


def parse_assignments(
    pairs: Sequence[str], *, option: str, hint: str | None = None
) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` -> ``{"a": "1", "b": "x=y"}``; a later pair for a key wins."""
    parsed, problems = _split(option, pairs)
    if problems:
        raise AssignmentError(problems, hint=hint)
    return {key: value for _, key, value in parsed}


def parse_typed_assignments(
    pairs: Sequence[str],
    convert: Callable[[str], T],
    *,
    option: str,
    expected: str,
    hint: str | None = None,
) -> dict[str, T]:
    """Like :func:`parse_assignments`, with each value passed through ``convert``.

    ``convert`` raises ``ValueError`` for a bad value; the problem then reads
    ``--rtol 'accuracy=x': value 'x' is not <expected>``.
    """
    parsed, problems = _split(option, pairs)
    values: dict[str, T] = {}
    for pair, key, text in parsed:
        try:
            values[key] = convert(text)
        except ValueError:
            problems.append(f"{option} {pair!r}: value {text!r} is not {expected}")
    if problems:
        raise AssignmentError(problems, hint=hint)
    return values
