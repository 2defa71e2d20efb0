"""The demo's steps, one module each, in the order they run (each hands the next what it
made: the best trial, the champion, the data and profile)."""

from __future__ import annotations

from orchestration.demo.context import Step
from orchestration.demo.steps import airflow, drift, promote, serve, stack, sweep

__all__ = ["STEPS"]

STEPS: tuple[Step, ...] = (
    sweep.STEP,
    promote.STEP,
    airflow.STEP,
    serve.STEP,
    drift.STEP,
    stack.STEP,
)
