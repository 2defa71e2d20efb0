"""Ports for a local stack: each service's usual port when it is free, else a free one.

A stack binds its ports over a minute or so (PostgreSQL at once, the api-server last), so a
second ``up`` starting meanwhile would see a chosen port still free and take it too. Every
``up`` therefore records the ports it chose, with its pid, in one claims file under the
temp directory (``flock``-ed while read and written); a port another live ``up`` claimed is
not chosen, and the claims of a dead ``up`` are forgotten.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

__all__ = ["CLAIMS", "choose_ports", "release_ports"]

CLAIMS = Path(tempfile.gettempdir()) / "mlharness-up-ports.json"


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _any_free() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _claims() -> Iterator[dict[str, int]]:
    """The live claims (port -> pid), written back when the block ends."""
    with CLAIMS.with_suffix(".lock").open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            data = json.loads(CLAIMS.read_text()) if CLAIMS.exists() else {}
        except (OSError, ValueError):
            data = {}
        claims = {str(k): int(v) for k, v in dict(data).items() if _alive(int(v))}
        yield claims
        tmp = CLAIMS.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(claims))
        os.replace(tmp, CLAIMS)


def choose_ports(
    usual: Mapping[str, int], *, claim: bool = True, owner: int | None = None
) -> dict[str, int]:
    """A port for each service (name -> usual port); ``claim`` records them for ``owner``."""
    owner = owner or os.getpid()
    with _claims() as claims:
        taken = {int(p) for p, pid in claims.items() if pid != owner}
        chosen: dict[str, int] = {}
        for name, port in usual.items():
            if port in chosen.values() or port in taken or not _free(port):
                port = _any_free()
                while port in chosen.values() or port in taken:
                    port = _any_free()
            chosen[name] = port
        if claim:
            for port in chosen.values():
                claims[str(port)] = owner
    return chosen


def release_ports(owner: int | None = None) -> None:
    """Forget the ports ``owner`` (this process) claimed."""
    owner = owner or os.getpid()
    with _claims() as claims:
        for port in [p for p, pid in claims.items() if pid == owner]:
            del claims[port]
