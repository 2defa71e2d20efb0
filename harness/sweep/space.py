"""The search space of a sweep: ``-P NAME=SPEC`` values parsed into dimensions.

A spec is a comma list (``50,100,200``: a grid axis, or a choice when sampling) or a
distribution: ``int(LOW,HIGH)``, ``uniform(LOW,HIGH)``, ``loguniform(LOW,HIGH)`` or
``choice(A,B,...)``. Every problem in every spec is collected, so a bad command line is
reported once, before anything is launched. Values reach the run as strings, exactly as
they will be logged: a typed ``3`` stays ``3``, sampled floats are written with ``repr``.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DISTRIBUTIONS",
    "Dimension",
    "Space",
    "Strategy",
    "parse_space",
]

Strategy = Literal["grid", "random", "optimize"]
Kind = Literal["values", "int", "uniform", "loguniform"]
DISTRIBUTIONS = ("choice", "int", "loguniform", "uniform")
_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)\s*$", re.DOTALL)


@dataclass(frozen=True)
class Dimension:
    """One parameter's axis: a list of values, or a numeric range to sample from."""

    name: str
    spec: str
    kind: Kind
    values: tuple[str, ...] = ()
    low: float = 0.0
    high: float = 0.0

    @property
    def fixed(self) -> bool:
        """One value only: passed to every trial, not searched."""
        return self.kind == "values" and len(self.values) == 1

    def sample(self, rng: random.Random) -> str:
        """One value drawn with ``rng`` (uniform over a list; log-uniform for loguniform)."""
        if self.kind == "values":
            return rng.choice(self.values)
        if self.kind == "int":
            return str(rng.randint(int(self.low), int(self.high)))
        if self.kind == "uniform":
            return repr(rng.uniform(self.low, self.high))
        return repr(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))

    def probes(self) -> tuple[str, ...]:
        """Values that stand for the whole axis when checking types before launch."""
        if self.kind == "values":
            return self.values
        if self.kind == "int":
            return (str(int(self.low)), str(int(self.high)))
        return (repr(self.low), repr(self.high))


@dataclass(frozen=True)
class Space:
    """The dimensions of a sweep, in the order they were given."""

    dimensions: tuple[Dimension, ...]

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dimensions]

    def specs(self) -> list[tuple[str, str]]:
        """``[(name, spec), ...]``: what the sweep definition stores."""
        return [(d.name, d.spec) for d in self.dimensions]

    def grid(self) -> list[dict[str, str]]:
        """Every combination of the value lists (the last parameter varies fastest)."""
        axes = [d.values for d in self.dimensions]
        return [dict(zip(self.names, combo, strict=True)) for combo in itertools.product(*axes)]

    def sample(self, count: int, seed: int) -> list[dict[str, str]]:
        """``count`` parameter sets drawn independently with a ``seed``-ed generator."""
        rng = random.Random(seed)
        return [{d.name: d.sample(rng) for d in self.dimensions} for _ in range(count)]

    def probe_sets(self) -> list[dict[str, str]]:
        """Parameter sets that exercise every probe value of every axis (for validation)."""
        longest = max((len(d.probes()) for d in self.dimensions), default=0)
        return [
            {d.name: d.probes()[min(i, len(d.probes()) - 1)] for d in self.dimensions}
            for i in range(longest)
        ]


def _numbers(
    name: str, spec: str, func: str, args: list[str], *, integer: bool
) -> tuple[tuple[float, float] | None, list[str]]:
    where = f"-P {name}={spec}"
    if len(args) != 2:
        return None, [f"{where}: {func}() takes 2 values (low, high), got {len(args)}"]
    parsed: list[float] = []
    problems: list[str] = []
    for text in args:
        try:
            parsed.append(float(int(text)) if integer else float(text))
        except ValueError:
            kind = "an integer" if integer else "a number"
            problems.append(f"{where}: {text!r} is not {kind}")
    if problems:
        return None, problems
    low, high = parsed
    if not (math.isfinite(low) and math.isfinite(high)):
        return None, [f"{where}: bounds must be finite"]
    if low >= high:
        return None, [f"{where}: low {args[0]} must be below high {args[1]}"]
    if func == "loguniform" and low <= 0:
        return None, [f"{where}: loguniform needs 0 < low < high (low is {args[0]})"]
    return (low, high), []


def _parse_one(name: str, spec: str, strategy: Strategy) -> tuple[Dimension | None, list[str]]:
    where = f"-P {name}={spec}"
    call = _CALL.match(spec)
    if call is None:
        if spec.strip() == "":
            return None, [f"{where}: empty list (give VALUE or V1,V2,...)"]
        items = [item.strip() for item in spec.split(",")]
        if any(item == "" for item in items):
            return None, [f"{where}: empty value in the list"]
        return Dimension(name, spec, "values", tuple(items)), []
    func, inner = call.group(1), call.group(2)
    args = [arg.strip() for arg in inner.split(",")] if inner.strip() else []
    if func not in DISTRIBUTIONS:
        known = ", ".join(DISTRIBUTIONS)
        return None, [f"{where}: unknown distribution {func!r} (known: {known})"]
    if func == "choice":
        if not args or any(arg == "" for arg in args):
            return None, [f"{where}: choice() needs one or more non-empty values"]
        return Dimension(name, spec, "values", tuple(args)), []
    bounds, problems = _numbers(name, spec, func, args, integer=func == "int")
    if bounds is None:
        return None, problems
    if strategy == "grid":
        return None, [f"{where}: a range needs --random N or --optimize (a grid takes lists)"]
    kind: Kind = "int" if func == "int" else "uniform" if func == "uniform" else "loguniform"
    return Dimension(name, spec, kind, low=bounds[0], high=bounds[1]), []


def parse_space(specs: Sequence[tuple[str, str]], strategy: Strategy) -> tuple[Space, list[str]]:
    """The space of ``[(name, spec), ...]`` and every problem found (empty when valid)."""
    dimensions: list[Dimension] = []
    problems: list[str] = []
    for name, spec in specs:
        dimension, found = _parse_one(name, spec, strategy)
        problems.extend(found)
        if dimension is not None:
            dimensions.append(dimension)
    if not specs:
        problems.append("no -P given: a sweep needs at least one parameter to vary")
    return Space(tuple(dimensions)), problems
