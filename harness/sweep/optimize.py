"""Adaptive search: an Optuna study driven through ask/tell, one child run per trial.

Optuna's MLflow callback is deprecated and runs trials in one process, so the sweep asks
the study for parameters, runs each trial as a full harness run in its own process, and
tells the study the result. Pruning reads the child's per-step metric history while it
runs: ``report`` returns True when the pruner says the trial is hopeless. A resumed sweep
rebuilds the study from its finished trials with ``create_trial`` and ``add_trial``.

Sweeps replay exactly: Optuna's defaults move between releases (Optuna 5 turned on
multivariate TPE and the constant liar), so the sampler is never left to them. Its class,
seed, every option that decides its proposals, and Optuna's version are stored in the sweep
definition (:func:`sampler_record`); ``--resume`` rebuilds exactly that sampler
(:func:`build_sampler`), and :func:`version_note` says when the installed Optuna differs
from the recorded one (same options, but the algorithm behind them may have changed).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from harness.sweep.definition import Mode, TrialRecord
from harness.sweep.space import Dimension, Space

if TYPE_CHECKING:
    import optuna

__all__ = [
    "SAMPLER",
    "SAMPLER_OPTIONS",
    "Optimizer",
    "build_sampler",
    "sampler_record",
    "version_note",
]

SAMPLER = "TPESampler"
# Every TPE option that changes which parameters are proposed, written out (the values are
# Optuna 5's behaviour): a sweep does not depend on what a later Optuna defaults to.
SAMPLER_OPTIONS: dict[str, Any] = {
    "n_startup_trials": 10,
    "n_ei_candidates": 24,
    "multivariate": True,
    "group": False,
    "constant_liar": True,
}


def sampler_record(seed: int) -> dict[str, Any]:
    """What the sweep definition stores about its sampler: class, seed, options, Optuna."""
    import optuna

    return {
        "name": SAMPLER,
        "seed": seed,
        "options": dict(SAMPLER_OPTIONS),
        "optuna": optuna.__version__,
    }


def build_sampler(record: dict[str, Any]) -> optuna.samplers.BaseSampler:
    """Exactly the sampler ``record`` describes (``sampler_record``'s form)."""
    import optuna

    if record.get("name") != SAMPLER:
        raise ValueError(f"unknown sampler {record.get('name')!r} (this mlharness has {SAMPLER})")
    with warnings.catch_warnings():
        # Optuna flags some options as experimental; the sweep asked for them on purpose.
        warnings.simplefilter("ignore")
        return optuna.samplers.TPESampler(seed=int(record["seed"]), **dict(record["options"]))


def version_note(record: dict[str, Any] | None) -> str | None:
    """A note when the installed Optuna is not the one the sweep was defined with."""
    if not record:
        return None
    import optuna

    recorded = str(record.get("optuna"))
    if recorded == optuna.__version__:
        return None
    return (
        f"this sweep's sampler was recorded with Optuna {recorded}; Optuna "
        f"{optuna.__version__} is installed: the same {record.get('name')} options are used, "
        f"but its proposals may differ (install optuna=={recorded} to resume it exactly)"
    )


# Pruning starts once this many trials completed, and never on a trial's first step.
PRUNER_STARTUP_TRIALS = 2
PRUNER_WARMUP_STEPS = 1


def _distribution(dimension: Dimension) -> Any:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if dimension.kind == "values":
        return CategoricalDistribution(list(dimension.values))
    if dimension.kind == "int":
        return IntDistribution(int(dimension.low), int(dimension.high))
    return FloatDistribution(dimension.low, dimension.high, log=dimension.kind == "loguniform")


class Optimizer:
    """A seeded TPE study over ``space`` with a median pruner; ``sampler`` is the recorded
    sampler (``sampler_record``), None for a definition written before samplers were."""

    def __init__(
        self, space: Space, seed: int, mode: Mode, sampler: dict[str, Any] | None = None
    ) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._order = space.names
        self._fixed = {d.name: d.values[0] for d in space.dimensions if d.fixed}
        self._dims = {d.name: d for d in space.dimensions if not d.fixed}
        self._distributions = {name: _distribution(d) for name, d in self._dims.items()}
        self.study = optuna.create_study(
            direction="maximize" if mode == "max" else "minimize",
            sampler=build_sampler(sampler) if sampler else optuna.samplers.TPESampler(seed=seed),
            pruner=optuna.pruners.MedianPruner(
                n_startup_trials=PRUNER_STARTUP_TRIALS, n_warmup_steps=PRUNER_WARMUP_STEPS
            ),
        )
        self._reported: dict[int, int] = {}

    def _typed(self, name: str, text: str) -> Any:
        kind = self._dims[name].kind
        if kind == "int":
            return int(text)
        if kind in {"uniform", "loguniform"}:
            return float(text)
        return text

    def _text(self, name: str, value: Any) -> str:
        kind = self._dims[name].kind
        if kind == "int":
            return str(int(value))
        if kind in {"uniform", "loguniform"}:
            return repr(float(value))
        return str(value)

    def add_finished(self, record: TrialRecord, value: float | None) -> None:
        """Add a trial finished earlier (a resumed sweep) to the study."""
        import optuna
        from optuna.trial import TrialState

        params = {n: self._typed(n, record.params[n]) for n in self._dims if n in record.params}
        if record.status == "FINISHED" and value is not None:
            state, final = TrialState.COMPLETE, value
        elif record.status == "PRUNED":
            state, final = TrialState.PRUNED, None
        else:
            state, final = TrialState.FAIL, None
        try:
            trial = optuna.trial.create_trial(
                params=params,
                distributions={n: self._distributions[n] for n in params},
                value=final,
                state=state,
            )
        except ValueError:
            return  # a value outside today's space: the study does without it
        self.study.add_trial(trial)

    def ask(self) -> tuple[optuna.Trial, dict[str, str]]:
        """A new trial and its parameters as run values (fixed values included)."""
        trial = self.study.ask(self._distributions)
        params = dict(self._fixed)
        params.update({n: self._text(n, v) for n, v in trial.params.items()})
        ordered = {n: params[n] for n in self._order}
        return trial, ordered

    def report(self, trial: optuna.Trial, history: list[tuple[int, float]]) -> bool:
        """Report new intermediate values; True when the trial should be pruned."""
        last = self._reported.get(trial.number, -1)
        fresh = sorted((step, value) for step, value in history if step > last)
        for step, value in fresh:
            trial.report(value, step)
            self._reported[trial.number] = step
        return bool(fresh) and trial.should_prune()

    def tell(self, trial: optuna.Trial, record: TrialRecord, value: float | None) -> None:
        from optuna.trial import TrialState

        if record.status == "FINISHED" and value is not None:
            self.study.tell(trial, value)
        elif record.status == "PRUNED":
            self.study.tell(trial, state=TrialState.PRUNED)
        else:
            self.study.tell(trial, state=TrialState.FAIL)
