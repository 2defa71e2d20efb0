"""Write files so a failure never leaves one half-written: temp file beside it, then rename.

Part of the kernel, shared by every package."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["temp_beside", "write_bytes_atomic", "write_text_atomic"]


def temp_beside(path: Path) -> Path:
    """An empty temporary file in ``path``'s directory, with the usual umask permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(name, 0o666 & ~umask)
    return Path(name)


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    tmp = temp_beside(path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_bytes_atomic(path, text.encode("utf-8"))
