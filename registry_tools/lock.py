"""A lease lock per (model, alias): the compare-and-set MLflow's registry does not offer.

``set_registered_model_alias`` is last-writer-wins and says nothing about a concurrent
writer, and tags are last-writer-wins too. The one atomic "create if absent" the registry
has is creating a registered model: its name is a primary key, so of two concurrent
creations exactly one succeeds and the other gets RESOURCE_ALREADY_EXISTS (on SQLite and on
a PostgreSQL-backed server alike). The lock is therefore a registered model named
``<model>.mlharness-lock.<alias>``, created with a unique token, an owner and an expiry in
its tags (one request, one transaction) and deleted on release.

A holder that crashed leaves the lock behind; after its lease expires the next writer
deletes it (re-reading the token first) and takes it. ``mlharness registry list`` hides
lock models.
"""

from __future__ import annotations

import os
import random
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from harness.store.registry import Registry
from registry_tools.audit import current_user
from registry_tools.errors import PromotionConflict

__all__ = [
    "LEASE_S",
    "LOCK_INFIX",
    "WAIT_S",
    "Lease",
    "acquire",
    "alias_lock",
    "is_lock_model",
    "lock_name",
    "release",
]

LOCK_INFIX = ".mlharness-lock."
WAIT_S = 30.0
LEASE_S = 600.0
_TOKEN = "mlharness.lock.token"
_OWNER = "mlharness.lock.owner"
_EXPIRES = "mlharness.lock.expires"


def lock_name(name: str, alias: str) -> str:
    return f"{name}{LOCK_INFIX}{alias}"


def is_lock_model(name: str) -> bool:
    return LOCK_INFIX in name


@dataclass(frozen=True)
class Lease:
    """A held lock: release it with the same token."""

    name: str
    token: str


def _owner() -> str:
    return f"{current_user()}@{socket.gethostname()} pid {os.getpid()}"


def acquire(
    registry: Registry, name: str, alias: str, *, wait_s: float = WAIT_S, lease_s: float = LEASE_S
) -> Lease:
    """Take the lock of ``name@alias``, waiting up to ``wait_s`` for the current holder."""
    target = lock_name(name, alias)
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait_s
    while True:
        tags = {_TOKEN: token, _OWNER: _owner(), _EXPIRES: f"{time.time() + lease_s:.3f}"}
        description = (
            f"mlharness lock for alias {alias!r} of {name!r}; deleted when the change is done"
        )
        if registry.create_model(target, tags=tags, description=description):
            return Lease(target, token)
        holder = registry.try_get_model(target)
        if holder is None:
            continue  # released between our attempt and our look
        if holder.tags.get(_TOKEN) == token:
            return Lease(target, token)  # our create went through although it was refused
        if _expired(holder.tags):
            _break(registry, target, holder.tags.get(_TOKEN, ""))
            continue
        if time.monotonic() >= deadline:
            raise PromotionConflict(
                f"alias {alias!r} of {name!r} is being changed by "
                f"{holder.tags.get(_OWNER, 'another writer')} (lock {target!r}); "
                "nothing changed",
                hint="try again when that change is done",
            )
        time.sleep(0.1 + random.random() * 0.2)


def _expired(tags: dict[str, str]) -> bool:
    try:
        return float(tags.get(_EXPIRES, "inf")) < time.time()
    except ValueError:
        return True


def _break(registry: Registry, target: str, token: str) -> None:
    """Delete a stale lock if it is still the one we saw."""
    current = registry.try_get_model(target)
    if current is not None and current.tags.get(_TOKEN, "") == token:
        registry.delete_model(target, missing_ok=True)  # somebody else may break it first


def release(registry: Registry, lease: Lease) -> None:
    """Delete the lock if it is still ours (an expired lease may have been taken over)."""
    current = registry.try_get_model(lease.name)
    if current is not None and current.tags.get(_TOKEN) == lease.token:
        registry.delete_model(lease.name)


@contextmanager
def alias_lock(
    registry: Registry, name: str, alias: str, *, wait_s: float = WAIT_S
) -> Iterator[Lease]:
    """Hold the lock of ``name@alias`` for the duration of the block."""
    lease = acquire(registry, name, alias, wait_s=wait_s)
    try:
        yield lease
    finally:
        release(registry, lease)
