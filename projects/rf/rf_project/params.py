"""Command-line parameters of the rf entry points, checked before any work starts.

``mlflow run`` passes unknown ``-P name=value`` pairs through as ``--name value``, and
it does not check ``int``/``float`` types, so every check lives here. Any problem
ends the process with exit code 2 and one line naming the parameter and what it
accepts, before data is loaded or a model trained.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr, and that rejects unknown names."""

    def error(self, message: str) -> NoReturn:
        # argparse prefixes type errors with "argument --x:"; ours already name the parameter.
        message = re.sub(r"^argument --[\w-]+: (?=parameter )", "", message)
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(2)

    def parse_strict(self, argv: Sequence[str] | None) -> argparse.Namespace:
        namespace, extra = self.parse_known_args(argv)
        unknown = [token[2:].split("=")[0] for token in extra if token.startswith("--")]
        if unknown or extra:
            names = ", ".join(unknown) or " ".join(extra)
            accepted = ", ".join(a.dest for a in self._actions if a.dest != "help")
            self.error(f"unknown parameter {names!s}; accepted parameters: {accepted}")
        return namespace


def bounded_int(name: str, minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"parameter {name}: {text!r} is not an integer; accepted: integers >= {minimum}"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"parameter {name}: {value} is out of range; accepted: integers >= {minimum}"
            )
        return value

    return parse


def open_fraction(name: str) -> Callable[[str], float]:
    """An argparse type: a float strictly between 0 and 1."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"parameter {name}: {text!r} is not a number; accepted: 0 < {name} < 1"
            ) from None
        if not 0.0 < value < 1.0:
            raise argparse.ArgumentTypeError(
                f"parameter {name}: {value} is out of range; accepted: 0 < {name} < 1"
            )
        return value

    return parse


def depth(text: str) -> int | None:
    """``max_depth``: a positive integer, or ``none`` for fully grown trees."""
    if text.strip().lower() in {"none", "null", ""}:
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"parameter max_depth: {text!r} is not accepted; accepted: an integer >= 1 or 'none'"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"parameter max_depth: {value} is out of range; accepted: an integer >= 1 or 'none'"
        )
    return value


def train_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and check the ``main`` entry point's parameters."""
    parser = OneLineParser(prog="rf main")
    parser.add_argument(
        "--n-estimators", dest="n_estimators", type=bounded_int("n_estimators", 1), default=100
    )
    parser.add_argument("--max-depth", dest="max_depth", type=depth, default=None)
    parser.add_argument(
        "--min-samples-leaf",
        dest="min_samples_leaf",
        type=bounded_int("min_samples_leaf", 1),
        default=1,
    )
    parser.add_argument(
        "--test-size", dest="test_size", type=open_fraction("test_size"), default=0.25
    )
    parser.add_argument(
        "--random-state", dest="random_state", type=bounded_int("random_state", 0), default=42
    )
    return parser.parse_strict(argv)


def evaluate_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the ``evaluate`` entry point's parameters."""
    parser = OneLineParser(prog="rf evaluate")
    parser.add_argument("--model-uri", dest="model_uri", required=True)
    parser.add_argument("--data", dest="data", required=True)
    return parser.parse_strict(argv)
