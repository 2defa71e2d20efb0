"""``main`` entry point: check parameters first, then import torch and mlflow and train."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from torch_mlp_project.params import TRAIN, parse


def main(argv: Sequence[str]) -> str:
    """Parse and check ``argv`` (exit 2 on bad input), then train; returns the run id."""
    params = parse(argv, TRAIN)
    from torch_mlp_project.training import train_and_log

    return train_and_log(params)


if __name__ == "__main__":
    main(sys.argv[1:])
