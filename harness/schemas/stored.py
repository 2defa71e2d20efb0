"""Read back what mlharness stored in the tracking store (JSON tags) through its schema.

A tag can be edited by anyone with write access to the store, written by another tool, or
written by a newer mlharness: reading it is reading input. Every reader goes through
:func:`parse_tag`, so a bad tag fails the same way everywhere: one line naming the run (or
model) and the tag, every problem with its key path, exit 2 (``StoredStateError``), never a
traceback.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from pydantic import TypeAdapter, ValidationError

from harness.kernel.errors import StoredStateError
from harness.schemas.validation import one_line, problems_of

__all__ = ["parse_tag", "parse_tag_data"]

T = TypeVar("T")


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(kind: type[Any]) -> TypeAdapter[Any]:
    """One adapter per schema (building one costs more than validating a tag)."""
    found = _ADAPTERS.get(kind)
    if found is None:
        found = _ADAPTERS[kind] = TypeAdapter(kind)
    return found


def parse_tag(kind: type[T], text: str, *, owner: str, tag: str) -> T:
    """``text`` (a tag's JSON) validated as ``kind`` (a pydantic model or dataclass);
    raises ``StoredStateError`` naming ``owner`` and ``tag``."""
    try:
        return cast(T, _adapter(kind).validate_json(text))
    except ValidationError as exc:
        raise StoredStateError(owner, tag, _problems(exc)) from exc


def parse_tag_data(kind: type[T], data: object, *, owner: str, tag: str) -> T:
    """Like :func:`parse_tag`, for a tag already decoded (or assembled from several tags)."""
    try:
        return cast(T, _adapter(kind).validate_python(data))
    except ValidationError as exc:
        raise StoredStateError(owner, tag, _problems(exc)) from exc


def _problems(exc: ValidationError) -> list[str]:
    found = problems_of(exc)
    if any(error["type"] == "json_invalid" for error in exc.errors()):
        return [f"(top level): not JSON: {one_line(exc.errors()[0]['msg'])}"]
    return found
