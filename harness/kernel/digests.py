"""Content digests of files and directory trees.

Digests depend only on relative paths, the executable bit and file contents, never on
where the tree sits or when it was written, so the same commit exported into two
directories has the same digest (the cache key relies on it).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = [
    "IGNORED_DIRS",
    "file_digest",
    "path_digest",
    "sha256_bytes",
    "tree_digest",
    "tree_files",
]

# Written by running the code, not part of it.
IGNORED_DIRS = frozenset(
    {
        ".git",
        "__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        "mlruns",
        "mlartifacts",
        ".ipynb_checkpoints",
        ".venv",
    }
)
IGNORED_SUFFIXES = (".pyc", ".pyo")
IGNORED_FILES = frozenset({"mlflow.db", ".DS_Store"})


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> str:
    """Hex sha256 of one file's content, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def tree_files(root: Path) -> list[str]:
    """Relative POSIX paths of the files under ``root`` that belong to the code, sorted."""
    found: list[str] = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in IGNORED_DIRS]
        for name in filenames:
            if name in IGNORED_FILES or name.endswith(IGNORED_SUFFIXES):
                continue
            found.append((Path(directory) / name).relative_to(root).as_posix())
    return sorted(found)


def tree_digest(root: Path) -> str:
    """One digest over every file's relative path, executable bit and content."""
    digest = hashlib.sha256()
    for relative in tree_files(root):
        path = root / relative
        executable = "x" if os.access(path, os.X_OK) else "-"
        line = f"{relative}\0{executable}\0{file_digest(path)}\n"
        digest.update(line.encode())
    return digest.hexdigest()


def path_digest(path: Path) -> str:
    """Digest of an input: a file's content, or a directory's tree digest."""
    return tree_digest(path) if path.is_dir() else file_digest(path)
