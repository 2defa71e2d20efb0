"""Seed every random source the project touches."""

from __future__ import annotations

import os
import random

import numpy as np


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy{% if cookiecutter.model_family == "torch-mlp" %} and torch{% endif %} so the same parameters give the same metrics."""
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
{%- if cookiecutter.model_family == "torch-mlp" %}
    import torch

    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # thread scheduling must not change the result
{%- endif %}
