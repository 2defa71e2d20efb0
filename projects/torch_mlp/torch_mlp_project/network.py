"""The network and its training loop, free of MLflow so that unit tests can drive them."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

EpochHook = Callable[[int, dict[str, float]], object]


def standardizer(train_features: pd.DataFrame) -> nn.Linear:
    """A frozen diagonal layer computing (x - mean) / std with the training rows' statistics.

    Built from stock layers only, the logged model needs no code of this package to load, and
    it takes raw features: callers never have to repeat the scaling.
    """
    values = torch.tensor(train_features.to_numpy(), dtype=torch.float32)
    mean, std = values.mean(dim=0), values.std(dim=0).clamp_min(1e-6)
    layer = nn.Linear(values.shape[1], values.shape[1])
    with torch.no_grad():
        layer.weight.copy_(torch.diag(1.0 / std))
        layer.bias.copy_(-mean / std)
    layer.requires_grad_(False)
    return layer


def build(train_features: pd.DataFrame, hidden_units: int) -> nn.Sequential:
    """Standardize -> Linear -> ReLU -> Linear: one logit for P(target=1)."""
    width = train_features.shape[1]
    return nn.Sequential(
        standardizer(train_features),
        nn.Linear(width, hidden_units),
        nn.ReLU(),
        nn.Linear(hidden_units, 1),
    )


def with_probability(net: nn.Sequential) -> nn.Sequential:
    """The served model: the network followed by a sigmoid, so predictions are P(target=1)."""
    return nn.Sequential(*net, nn.Sigmoid()).eval()


def _tensors(x: pd.DataFrame, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    return (
        torch.tensor(x.to_numpy(), dtype=torch.float32),
        torch.tensor(y, dtype=torch.float32).unsqueeze(1),
    )


def fit(
    net: nn.Sequential,
    train: tuple[pd.DataFrame, np.ndarray],
    val: tuple[pd.DataFrame, np.ndarray],
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    generator: torch.Generator,
    on_epoch: EpochHook | None = None,
) -> list[dict[str, float]]:
    """Adam on binary cross-entropy; returns (and hands ``on_epoch``) each epoch's metrics."""
    x_train, y_train = _tensors(*train)
    x_val, y_val = _tensors(*val)
    loader = DataLoader(
        TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=True, generator=generator
    )
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=lr)
    history = []
    for epoch in range(1, epochs + 1):
        net.train()
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(net(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        net.eval()
        with torch.no_grad():
            logits = net(x_val)
            val_loss = loss_fn(logits, y_val).item()
            val_accuracy = ((logits >= 0).float() == y_val).float().mean().item()
        row = {
            "train_loss": total / len(x_train),
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
        }
        history.append(row)
        if on_epoch is not None:
            on_epoch(epoch, row)
    return history


def predict_proba(model: nn.Module, features: pd.DataFrame) -> np.ndarray:
    """P(target=1) for every row, as a flat float array."""
    with torch.no_grad():
        out = model(torch.tensor(features.to_numpy(), dtype=torch.float32))
    proba: np.ndarray = out.numpy().ravel()
    return proba
