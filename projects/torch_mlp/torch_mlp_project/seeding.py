"""Make a CPU training run repeatable bit for bit."""

from __future__ import annotations

import random

import numpy as np
import torch


def make_deterministic(seed: int) -> torch.Generator:
    """Seed every random source, forbid nondeterministic kernels, use one thread.

    One thread because the order of a parallel float reduction changes the last bits of a sum.
    Returns a generator of its own for the DataLoader's shuffling.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    return torch.Generator().manual_seed(seed)
