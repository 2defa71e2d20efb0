"""``main`` entry point: check parameters first, then import torch and mlflow and train."""

from __future__ import annotations

import atexit
import gc
import sys
from collections.abc import Sequence

from torch_mlp_project.params import TRAIN, parse


def main(argv: Sequence[str]) -> str:
    """Parse and check ``argv`` (exit 2 on bad input), then train; returns the run id."""
    params = parse(argv, TRAIN)
    from torch_mlp_project.training import train_and_log

    return train_and_log(params)


if __name__ == "__main__":
    # Skip the interpreter's final garbage collection over everything MLflow and the ML
    # libraries imported (0.5-0.9 CPU-s per run): freeze the heap in the last exit handler.
    atexit.register(gc.freeze)
    main(sys.argv[1:])
