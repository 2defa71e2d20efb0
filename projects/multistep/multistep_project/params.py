"""Entry-point parameters, checked before mlflow or scikit-learn is imported.

``mlflow run`` passes unknown ``-P name=value`` pairs through as ``--name value`` and does
not check ``int``/``float`` types, so every check lives here: a bad parameter ends the
process with exit code 2 and one ``error:`` line naming the parameter and what it accepts.
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


def _uri(what: str) -> Param:
    example = f"runs:/<run_id>/{what}"
    if what == "model":
        example = f"models:/m-<id> or {example}"
    return Param(str, None, lambda v: ":/" in v, f"an artifact URI such as {example}")


SEED = Param(int, 42, lambda v: 0 <= v < 2**32, "integers 0..4294967295")
TEST_SIZE = Param(float, 0.25, lambda v: 0.05 <= v <= 0.5, "numbers 0.05..0.5")
SELECT_K = Param(int, 10, lambda v: 1 <= v <= 30, "integers 1..30 (the data has 30 features)")
C = Param(float, 1.0, lambda v: 0 < v <= 1e6, "numbers with 0 < C <= 1000000")
MAX_ITER = Param(int, 200, lambda v: 1 <= v <= 100_000, "integers 1..100000")

ENTRY_POINTS: dict[str, dict[str, Param]] = {
    "ingest": {"test_size": TEST_SIZE, "seed": SEED},
    "featurize": {"data_uri": _uri("data"), "select_k": SELECT_K},
    "train": {"features_uri": _uri("features"), "C": C, "max_iter": MAX_ITER, "seed": SEED},
    "evaluate": {"model_uri": _uri("model"), "features_uri": _uri("features")},
    "main": {
        "test_size": TEST_SIZE,
        "seed": SEED,
        "select_k": SELECT_K,
        "C": C,
        "max_iter": MAX_ITER,
    },
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


def parse_entry_point(argv: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """``ENTRY --name value ...`` -> the entry point's name and its checked parameters."""
    if not argv or argv[0] not in ENTRY_POINTS:
        fail(
            f"unknown entry point {argv[0] if argv else ''!r}; accepted: {', '.join(ENTRY_POINTS)}"
        )
    return argv[0], parse(argv[1:], ENTRY_POINTS[argv[0]])
