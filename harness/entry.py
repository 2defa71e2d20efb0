"""The ``mlharness`` console script: a cached ``mlharness run`` answers before typer loads.

A cached run's whole job is one memo lookup (``harness.run.memo_cli``, ~0.2 s), while
building the typer app costs more than that: typer 0.29 builds a pydantic ``TypeAdapter``
for every option and imports rich. So this module imports only the standard library and
the memo reader; every other command, every form the reader leaves to typer, and any
doubt at all go to ``harness.app.main``, the one full path.
"""

from __future__ import annotations

import atexit
import gc
import sys

__all__ = ["main"]


def _cached_answer(args: list[str]) -> str | None:
    """``cached: <run id>`` for ``mlharness run ...`` answered by the memo, else None."""
    if not args or args[0] != "run":
        return None
    try:
        from harness.run.memo_cli import cached_line

        return cached_line(args[1:])
    except Exception:  # the memo is an optimisation: any failure means the full path decides
        return None


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: the memo's answer, else the typer app."""
    # The interpreter's last act is a garbage collection over every object still alive:
    # once MLflow, pandas or scikit-learn are imported it costs 0.5-0.9 CPU-s, for memory
    # the ending process gives back anyway. Freezing the heap in the last exit handler
    # (handlers run newest first) skips that pass; the other handlers and the flush of
    # stdout/stderr still run.
    atexit.register(gc.freeze)
    args = list(sys.argv[1:] if argv is None else argv)
    line = _cached_answer(args)
    if line is not None:
        print(line)
        sys.exit(0)
    from harness.app import main as full_main

    full_main(args)
