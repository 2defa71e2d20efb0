"""Validate data read from a file against a pydantic model, every problem at once.

Each reader (pipeline config, MLproject, manifest, drift profile header, drift report,
template ``cookiecutter.json``) calls :func:`validate`, so every file a command reads fails
the same way: one line that names the file, then each problem with its key path
(``steps[1].params.max_depth: ...``), exit 2.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from harness.kernel.errors import ConfigError, MlharnessError

__all__ = [
    "MAX_DETAIL",
    "InvalidFile",
    "ProblemsError",
    "key_path",
    "one_line",
    "problems_of",
    "validate",
]

M = TypeVar("M", bound=BaseModel)

# Builds the error for a file and its problems: ConfigError, InvalidFile, ManifestError...
ProblemsError = Callable[[str, list[str]], MlharnessError]


class InvalidFile(ConfigError):
    """A data file a command reads (profile, batch, template) does not hold what it should."""


# A library's message quoting a file's bytes is cut here (the error stays one short line).
MAX_DETAIL = 300


def one_line(text: object) -> str:
    """A library's message on one line, printable and at most ``MAX_DETAIL`` characters:
    the CLI prints exactly one line per error, and a parser may quote binary content."""
    flat = " ".join(str(text).split())
    flat = "".join(c if c.isprintable() else "?" for c in flat)
    return flat if len(flat) <= MAX_DETAIL else flat[: MAX_DETAIL - 3] + "..."


def key_path(location: Sequence[str | int]) -> str:
    """pydantic's error location as the user reads it: ``steps[1].params.max_depth``."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def problems_of(exc: ValidationError) -> list[str]:
    """One ``key.path: message`` line per problem pydantic found."""
    return [f"{key_path(error['loc'])}: {one_line(error['msg'])}" for error in exc.errors()]


def validate(
    model: type[M],
    data: object,
    where: str,
    *,
    error: ProblemsError = ConfigError,
) -> M:
    """``model`` validated from ``data`` read from ``where``; raises ``error(where, problems)``
    (exit 2) listing every problem, never a pydantic traceback."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(where, problems_of(exc)) from exc
