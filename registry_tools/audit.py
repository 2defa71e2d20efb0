"""The audit trail of an alias: who moved it, from which version, when, on what evidence.

Two places hold it, written under the alias lock (see ``lock.py``):

* the registered model carries the full history, one JSON record per change under
  ``mlharness.audit.<alias>.<seq>`` and the last sequence number under
  ``mlharness.seq.<alias>``;
* the version that received the alias carries the latest record as readable tags
  ``mlharness.<alias>.previous``, ``.gates``, ``.time``, ``.user``, ``.action``, ``.seq``.

Rollback replays the history as a stack: a promote/set/remove pushes the holder it replaced,
a rollback pops it, so repeated rollbacks walk further back.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass as plain_dataclass
from dataclasses import field
from datetime import UTC, datetime
from typing import Literal

from pydantic import ConfigDict
from pydantic.dataclasses import dataclass

from harness.kernel.errors import StoredStateError
from harness.schemas.stored import parse_tag, parse_tag_data
from harness.schemas.validation import one_line
from registry_tools.errors import RegistryError
from registry_tools.gates import GateResult

__all__ = [
    "ACTIONS",
    "PREFIX",
    "Action",
    "AuditRecord",
    "AuditRecordError",
    "Replay",
    "current_user",
    "last_seq",
    "now_iso",
    "replay",
    "seq_key",
    "trail",
    "trail_key",
    "version_key",
]

Action = Literal["promote", "set", "remove", "rollback"]
ACTIONS: tuple[Action, ...] = ("promote", "set", "remove", "rollback")
PREFIX = "mlharness"


def trail_key(alias: str, seq: int) -> str:
    """Registered-model tag holding record ``seq`` of ``alias`` (zero-padded: sorts by seq)."""
    return f"{PREFIX}.audit.{alias}.{seq:06d}"


def seq_key(alias: str) -> str:
    """Registered-model tag holding the last sequence number written for ``alias``."""
    return f"{PREFIX}.seq.{alias}"


def version_key(alias: str, field_name: str) -> str:
    return f"{PREFIX}.{alias}.{field_name}"


def current_user() -> str:
    """Who is making the change: the tracking user name when set, else the OS user."""
    try:
        fallback = getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no passwd entry
        fallback = "unknown"
    return os.environ.get("MLFLOW_TRACKING_USERNAME") or fallback


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class AuditRecordError(StoredStateError, RegistryError):
    """An audit tag that is not a record mlharness writes (exit 2, one line naming the
    model and the tag, every problem at once)."""


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class AuditRecord:
    """One change of one alias (written and read through this schema: a pydantic dataclass
    with unknown keys refused)."""

    seq: int
    alias: str
    action: Action
    version: str | None  # the holder after the change (None after a remove)
    previous: str | None  # the holder before the change
    time: str
    user: str
    gates: tuple[GateResult, ...] = field(default_factory=tuple)
    evaluation: Mapping[str, str] | None = None  # evaluation run id per scored version

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def to_dict(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "alias": self.alias,
            "action": self.action,
            "version": self.version,
            "previous": self.previous,
            "time": self.time,
            "user": self.user,
            "gates": [g.to_dict() for g in self.gates],
            "evaluation": dict(self.evaluation) if self.evaluation else None,
        }

    @classmethod
    def from_json(
        cls, text: str, *, model: str = "(model)", key: str = f"{PREFIX}.audit"
    ) -> AuditRecord:
        """Decode the record stored under tag ``key`` of registered model ``model``; raises
        ``AuditRecordError`` (a ``RegistryError``, exit 2) listing every problem."""
        try:
            return parse_tag(cls, text, owner=f"registered model {model!r}", tag=key)
        except StoredStateError as exc:
            raise AuditRecordError(exc.owner, exc.tag, exc.problems) from exc

    def version_tags(self) -> dict[str, str]:
        """The readable tags written on the version that now holds the alias."""
        return {
            version_key(self.alias, "action"): self.action,
            version_key(self.alias, "previous"): self.previous or "",
            version_key(self.alias, "gates"): json.dumps(
                [g.to_dict() for g in self.gates], separators=(",", ":")
            ),
            version_key(self.alias, "time"): self.time,
            version_key(self.alias, "user"): self.user,
            version_key(self.alias, "seq"): str(self.seq),
        }

    @classmethod
    def from_version_tags(cls, alias: str, version: str, tags: Mapping[str, str]) -> AuditRecord:
        """Decode the readable version tags back into a record (evaluation ids not kept)."""
        where = f"{PREFIX}.{alias}.*"
        owner = f"version {version}"
        try:
            gates = json.loads(tags.get(version_key(alias, "gates"), "[]"))
        except ValueError as exc:
            problem = f"{version_key(alias, 'gates')}: not JSON: {one_line(exc)}"
            raise AuditRecordError(owner, where, [problem]) from exc
        data = {
            "seq": tags.get(version_key(alias, "seq")),
            "alias": alias,
            "action": tags.get(version_key(alias, "action")),
            "version": version,
            "previous": tags.get(version_key(alias, "previous")) or None,
            "time": tags.get(version_key(alias, "time")),
            "user": tags.get(version_key(alias, "user")),
            "gates": gates,
        }
        try:
            return parse_tag_data(cls, data, owner=owner, tag=where)
        except StoredStateError as exc:
            raise AuditRecordError(exc.owner, exc.tag, exc.problems) from exc


def trail(
    alias: str, model_tags: Mapping[str, str], *, model: str = "(model)"
) -> list[AuditRecord]:
    """Every record of ``alias`` stored on registered model ``model``, oldest first; a
    corrupt one is an ``AuditRecordError`` naming the model and the tag."""
    prefix = f"{PREFIX}.audit.{alias}."
    keys = sorted(k for k in model_tags if k.startswith(prefix) and k[len(prefix) :].isdigit())
    return [AuditRecord.from_json(model_tags[k], model=model, key=k) for k in keys]


def last_seq(alias: str, model_tags: Mapping[str, str]) -> int:
    value = model_tags.get(seq_key(alias), "0")
    return int(value) if value.isdigit() else 0


@plain_dataclass(frozen=True)
class Replay:
    """What the trail says: the holder now and the holders to roll back to (last = next)."""

    holder: str | None
    undo: tuple[str | None, ...]


def replay(records: list[AuditRecord]) -> Replay:
    """Replay a trail as a stack: changes push the replaced holder, rollbacks pop it."""
    holder: str | None = None
    stack: list[str | None] = []
    for record in records:
        if record.action == "rollback":
            if stack:
                stack.pop()
        else:
            stack.append(record.previous)
        holder = record.version
    return Replay(holder, tuple(stack))
