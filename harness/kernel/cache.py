"""Where mlharness keeps what it can make again: ``$MLHARNESS_CACHE_DIR``, else
``$XDG_CACHE_HOME/mlharness``, else ``~/.cache/mlharness``.

One folder per kind of thing, named by its caller: ``git/`` (fetched repositories),
``hits/`` and ``sweeps/`` (the run and sweep memos), ``envs/`` (recorded environments),
``mlflow/`` (the migrated empty tracking store), ``airflow/`` (the demo's migrated Airflow
database).
Deleting the whole folder loses nothing but time.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_home"]


def cache_home() -> Path:
    """The mlharness cache folder (not created here)."""
    base = os.environ.get("MLHARNESS_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "mlharness"
    )
    return Path(base)
