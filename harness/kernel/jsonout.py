"""The two JSON forms mlharness writes: the canonical one that is digested, and the one
every ``--json`` prints."""

from __future__ import annotations

import json
import sys
from typing import TextIO

__all__ = ["canonical_json", "dumps_pretty", "print_json"]


def canonical_json(obj: object) -> str:
    """The one serialisation that is digested: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dumps_pretty(obj: object) -> str:
    """Indented, sorted keys; values JSON cannot hold are written as their ``str``."""
    return json.dumps(obj, indent=2, sort_keys=True, default=str)


def print_json(data: object, stream: TextIO | None = None) -> None:
    """The one JSON form every ``--json`` prints: indented, sorted keys, flushed."""
    out = stream or sys.stdout
    out.write(dumps_pretty(data) + "\n")
    out.flush()
