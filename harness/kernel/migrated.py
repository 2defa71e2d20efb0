"""Empty migrated databases kept once and copied: a schema migration (Airflow's, MLflow's)
costs seconds of CPU, and the empty database it writes is the same file for the same
installed versions, so the first caller keeps a copy (the template) and later callers start
from a copy of it.

Part of the kernel, shared by every package: the demo's Airflow metadata database, new
sqlite tracking stores (``harness.store.new_store``) and the tests' migrated homes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
from collections.abc import Callable, Collection
from pathlib import Path

__all__ = ["keep_migrated", "versions_digest"]


def versions_digest(names: Collection[str] = (), *, prefix: str | None = None) -> str:
    """A short digest of the installed versions of the distributions named in ``names``
    (each looked up by name; one not installed is left out) and of every distribution whose
    lower-case name starts with ``prefix`` (which takes a scan of all installed ones: about
    0.13 s in this venv): a template's name, so that an upgrade of any of them makes a new
    one instead of reusing a database of another schema."""
    from importlib.metadata import PackageNotFoundError, distributions, version

    installed = []
    for name in names:
        with contextlib.suppress(PackageNotFoundError):
            installed.append(f"{name}=={version(name)}")
    if prefix is not None:
        installed += [
            f"{d.metadata['Name']}=={d.version}"
            for d in distributions()
            if str(d.metadata["Name"] or "").lower().startswith(prefix)
        ]
    return hashlib.sha256("\n".join(sorted(installed)).encode()).hexdigest()[:16]


def keep_migrated(database: Path, template: Path, migrate: Callable[[], None]) -> bool:
    """Put an empty migrated database at ``database``: a copy of ``template`` when it
    exists (True), else ``migrate()`` (which writes ``database``: it must be new) and a
    copy kept at ``template`` (False). Under a lock beside the template, so callers at the
    same time migrate once; the template is written atomically, so a half-written one is
    never seen."""
    template.parent.mkdir(parents=True, exist_ok=True)
    with (template.parent / f"{template.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if template.is_file():
            shutil.copyfile(template, database)
            return True
        migrate()
        partial = template.with_name(f"{template.name}.{os.getpid()}.partial")
        shutil.copyfile(database, partial)
        os.replace(partial, template)
        return False
