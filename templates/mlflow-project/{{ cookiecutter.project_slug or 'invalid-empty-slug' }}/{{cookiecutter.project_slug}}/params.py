{%- set params = cookiecutter._parameters[cookiecutter.model_family] + cookiecutter._parameters.common -%}
"""Command-line parameters of both entry points, checked before any heavy import.

``mlflow run`` passes unknown ``-P name=value`` pairs through as ``--name value`` and does
not check ``int``/``float`` types, so every check lives here. Any problem ends the
process with exit code 2 and one line naming the parameter and what it accepts, before
data is loaded or a model trained. ``PARAMETERS`` mirrors the ``main`` entry point of the
MLproject file (the tests check that they agree).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn

Parse = Callable[[str], object]


def at_least(minimum: int) -> Parse:
    """An integer >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            accepted = f"integers >= {minimum}"
            raise ValueError(f"{text!r} is not an integer; accepted: {accepted}") from None
        if value < minimum:
            raise ValueError(f"{value} is out of range; accepted: integers >= {minimum}")
        return value

    return parse


def _number(text: str, accepted: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number; accepted: {accepted}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{text!r} is not a finite number; accepted: {accepted}")
    return value


def positive(text: str) -> float:
    """A finite number > 0."""
    value = _number(text, "numbers > 0")
    if value <= 0:
        raise ValueError(f"{value} is out of range; accepted: numbers > 0")
    return value


def open_fraction(text: str) -> float:
    """A number strictly between 0 and 1."""
    value = _number(text, "0 < value < 1")
    if not 0.0 < value < 1.0:
        raise ValueError(f"{value} is out of range; accepted: 0 < value < 1")
    return value


def depth_or_none(text: str) -> int | None:
    """An integer >= 1, or ``none`` for no limit."""
    if text.strip().lower() in {"none", "null", ""}:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not accepted; accepted: an integer >= 1 or 'none'") from None
    if value < 1:
        raise ValueError(f"{value} is out of range; accepted: an integer >= 1 or 'none'")
    return value


@dataclass(frozen=True)
class Parameter:
    """One parameter of the ``main`` entry point: its checker, default and meaning."""

    name: str
    parse: Parse
    default: str
    help: str


PARAMETERS: tuple[Parameter, ...] = (
{%- for p in params %}
    Parameter(
        name={{ p.name | jsonify }},
        parse={{ p.check }},
        default={{ p.default | string | jsonify }},
        help={{ p.help | jsonify }},
    ),
{%- endfor %}
)


def fail(message: str) -> NoReturn:
    """Print one ``error:`` line and exit with code 2 (bad input)."""
    sys.stderr.write(f"error: {message}\n")
    raise SystemExit(2)


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, and that rejects unknown parameters."""

    def error(self, message: str) -> NoReturn:
        fail(message)

    def parse_strict(self, argv: Sequence[str] | None) -> dict[str, str]:
        namespace, extra = self.parse_known_args(argv)
        if extra:
            unknown = ", ".join(token.lstrip("-").split("=")[0] for token in extra)
            accepted = ", ".join(a.dest for a in self._actions if a.dest != "help")
            fail(f"unknown parameter {unknown}; accepted parameters: {accepted}")
        return {key: str(value) for key, value in vars(namespace).items()}


def _check(parameters: Sequence[Parameter], raw: dict[str, str]) -> argparse.Namespace:
    values: dict[str, object] = {}
    for parameter in parameters:
        try:
            values[parameter.name] = parameter.parse(raw[parameter.name])
        except ValueError as exc:
            fail(f"parameter {parameter.name}: {exc}")
    return argparse.Namespace(**values)


def train_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and check the ``main`` entry point's parameters (exit 2 on bad input)."""
    parser = OneLineParser(prog="{{ cookiecutter.project_slug }} main")
    for parameter in PARAMETERS:
        flag = "--" + parameter.name.replace("_", "-")
        parser.add_argument(flag, dest=parameter.name, default=parameter.default)
    return _check(PARAMETERS, parser.parse_strict(argv))


def loggable(args: argparse.Namespace) -> dict[str, str]:
    """The checked parameters as MLflow params (``None`` is logged as ``none``)."""
    return {
        p.name: "none" if getattr(args, p.name) is None else str(getattr(args, p.name))
        for p in PARAMETERS
    }


def evaluate_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the ``evaluate`` entry point's parameters."""
    parser = OneLineParser(prog="{{ cookiecutter.project_slug }} evaluate")
    parser.add_argument("--model-uri", dest="model_uri", required=True)
    parser.add_argument("--data", dest="data", required=True)
    return argparse.Namespace(**parser.parse_strict(argv))
