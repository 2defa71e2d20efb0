{%- set classification = cookiecutter.task == "classification" -%}
"""The model: a small torch MLP{% if classification %} classifier{% else %} regressor{% endif %}, logged with the ``pytorch`` flavor.

Feature scaling{% if not classification %} and target scaling{% endif %} live inside the module (as buffers), so the logged
model takes raw feature rows and returns {% if classification %}P(class=1){% else %}predictions in target units{% endif %}. It is logged in
MLflow's default ``pt2`` format (a traced graph: no pickle, no project code needed to load).

Every model module offers the same four functions (``fit``, ``predict_scores``,
``log_model``, ``load_scorer``), so training and evaluation do not depend on the family.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import mlflow.pytorch
import numpy as np
import pandas as pd
import torch
from mlflow.models import infer_signature
from torch import nn

Forward = Callable[[torch.Tensor], torch.Tensor]


class TabularMLP(nn.Module):
    """Two hidden ReLU layers on standardised features."""

    mean: torch.Tensor
    std: torch.Tensor
    target_mean: torch.Tensor
    target_std: torch.Tensor

    def __init__(self, features: torch.Tensor, target: torch.Tensor, hidden_units: int) -> None:
        super().__init__()
        self.register_buffer("mean", features.mean(dim=0))
        self.register_buffer("std", features.std(dim=0).clamp_min(1e-6))
{%- if classification %}
        self.register_buffer("target_mean", torch.tensor(0.0))
        self.register_buffer("target_std", torch.tensor(1.0))
{%- else %}
        self.register_buffer("target_mean", target.mean())
        self.register_buffer("target_std", target.std().clamp_min(1e-6))
{%- endif %}
        self.net = nn.Sequential(
            nn.Linear(features.shape[1], hidden_units),
            nn.ReLU(),
            nn.Linear(hidden_units, hidden_units),
            nn.ReLU(),
            nn.Linear(hidden_units, 1),
        )

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        """The output before the {% if classification %}sigmoid{% else %}target scaling is undone{% endif %} (what the loss sees)."""
        out: torch.Tensor = self.net((x - self.mean) / self.std)
        return out.squeeze(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
{%- if classification %}
        return torch.sigmoid(self.raw(x))
{%- else %}
        return self.raw(x) * self.target_std + self.target_mean
{%- endif %}


def _tensor(frame: pd.DataFrame | pd.Series) -> torch.Tensor:
    # np.array copies: torch wants a writable array, and pandas may hand out read-only views.
    return torch.from_numpy(np.array(frame.to_numpy(), dtype=np.float32))


def fit(args: argparse.Namespace, x_train: pd.DataFrame, y_train: pd.Series) -> TabularMLP:
    """Mini-batch Adam for ``epochs`` passes, in an order fixed by ``random_state``."""
    torch.manual_seed(args.random_state)
    features, target = _tensor(x_train), _tensor(y_train)
    model = TabularMLP(features, target, args.hidden_units)
{%- if classification %}
    loss_fn: nn.Module = nn.BCEWithLogitsLoss()
    goal = target
{%- else %}
    loss_fn: nn.Module = nn.MSELoss()
    goal = (target - model.target_mean) / model.target_std
{%- endif %}
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    order_rng = torch.Generator().manual_seed(args.random_state)
    model.train()
    for _ in range(args.epochs):
        order = torch.randperm(len(features), generator=order_rng)
        for start in range(0, len(features), args.batch_size):
            rows = order[start : start + args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model.raw(features[rows]), goal[rows])
            loss.backward()
            optimizer.step()
    model.eval()
    return model


def predict_scores(model: Forward, features: pd.DataFrame) -> np.ndarray:
    """{% if classification %}P(class=1){% else %}The predicted target{% endif %} for every row."""
    with torch.no_grad():
        return np.asarray(model(_tensor(features)).numpy(), dtype=float)


def log_model(model: TabularMLP, example: pd.DataFrame, pip_requirements: list[str]) -> None:
    """Log the model as ``model`` with its signature, input example and pinned requirements."""
    # A float32 array, not a frame: the pt2 format traces the model with this example and
    # needs a tensor signature.
    array = _tensor(example).numpy()
    mlflow.pytorch.log_model(
        model,
        name="model",
        signature=infer_signature(array, predict_scores(model, example).astype("float32")),
        input_example=array,
        pip_requirements=pip_requirements,
    )


def load_scorer(model_uri: str) -> Callable[[pd.DataFrame], np.ndarray]:
    """Load a logged model and return its scoring function."""
    model = mlflow.pytorch.load_model(model_uri)
    return lambda features: predict_scores(model, features)
