"""Entry-point parameters, checked before torch or mlflow is imported.

``mlflow run`` passes unknown ``-P name=value`` pairs through as ``--name value`` and does
not check ``int``/``float`` types, so every check lives here: a bad parameter ends the
process within a second with exit code 2 and one ``error:`` line naming the parameter and
what it accepts.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn


@dataclass(frozen=True)
class Param:
    """One parameter: how to convert its text, its default, and which values are accepted."""

    convert: Callable[[str], Any]
    default: Any
    accepts: Callable[[Any], bool]
    accepted: str


TRAIN = {
    "hidden_units": Param(int, 16, lambda v: 1 <= v <= 4096, "integers 1..4096"),
    "epochs": Param(int, 10, lambda v: 1 <= v <= 10_000, "integers 1..10000"),
    "lr": Param(float, 0.01, lambda v: 0 < v <= 10, "numbers with 0 < lr <= 10"),
    "batch_size": Param(int, 32, lambda v: v >= 1, "integers >= 1"),
    "seed": Param(int, 42, lambda v: 0 <= v < 2**32, "integers 0..4294967295"),
}
EVALUATE = {
    "model_uri": Param(
        str, None, bool, "a model URI such as models:/m-<id> or runs:/<run_id>/model"
    ),
    "data": Param(str, None, bool, "a CSV file with the feature columns and 'target'"),
}


def fail(message: str) -> NoReturn:
    """Print one ``error:`` line and exit with the bad-input code."""
    sys.stderr.write(f"error: {message}\n")
    raise SystemExit(2)


def parse(argv: Sequence[str], spec: Mapping[str, Param]) -> dict[str, Any]:
    """``--name value`` pairs -> checked values, defaults filled; exits 2 on any problem."""
    values = {name: param.default for name, param in spec.items()}
    tokens = list(argv)
    for index in range(0, len(tokens), 2):
        flag = tokens[index]
        name = flag.removeprefix("--")
        if not flag.startswith("--") or name not in spec:
            fail(f"unknown parameter {name}; accepted parameters: {', '.join(spec)}")
        if index + 1 == len(tokens):
            fail(f"parameter {name}: no value; accepted: {spec[name].accepted}")
        param, text = spec[name], tokens[index + 1]
        try:
            value = param.convert(text)
        except ValueError:
            fail(f"parameter {name}: {text!r} is not accepted; accepted: {param.accepted}")
        if (isinstance(value, float) and math.isnan(value)) or not param.accepts(value):
            fail(f"parameter {name}: {value!r} is out of range; accepted: {param.accepted}")
        values[name] = value
    missing = [name for name, value in values.items() if value is None]
    if missing:
        fail(f"parameter {missing[0]}: missing; accepted: {spec[missing[0]].accepted}")
    return values
