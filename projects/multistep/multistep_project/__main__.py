"""``python -m multistep_project ENTRY --name value ...``: check parameters, then run.

Parameters are checked before mlflow or scikit-learn is imported, so bad input fails fast.
"""

from __future__ import annotations

import atexit
import gc
import sys
from collections.abc import Sequence

from multistep_project.params import parse_entry_point


def main(argv: Sequence[str]) -> None:
    """Run one entry point: a single step in the launched run, or the whole pipeline."""
    entry, params = parse_entry_point(argv)
    if entry == "main":
        from multistep_project.pipeline import run_pipeline

        run_pipeline(params)
        return
    import tempfile
    from pathlib import Path

    from multistep_project.runner import run_step

    with tempfile.TemporaryDirectory() as tmp:
        step = run_step(entry, params, Path(tmp), nested=False)
    print(f"{entry}: ran run_id={step.run_id}")


if __name__ == "__main__":
    # Skip the interpreter's final garbage collection over everything MLflow and the ML
    # libraries imported (0.5-0.9 CPU-s per run): freeze the heap in the last exit handler.
    atexit.register(gc.freeze)
    main(sys.argv[1:])
