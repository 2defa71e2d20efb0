"""One root exception and one exit-code table for every mlharness command.

Part of the kernel: imports nothing but the standard library.

Library code raises these; only the CLI boundary turns them into a one-line message
and a process exit code. Exceptions from mlflow, git or Airflow are converted into
these at the boundary where they are caught, so callers never need to know which
library failed.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit codes shared by every command (listed in the README)."""

    OK = 0
    DIFFERENT = 1  # a check found a difference, or a run/trial failed
    BAD_INPUT = 2  # usage, params, config, missing source
    GATE_FAILED = 3  # a promotion gate failed
    DRIFT = 4  # drift detected
    EXTERNAL = 5  # tracking server, git remote or Airflow failed after retries
    INTERNAL = 70  # a bug: an exception nobody converted (EX_SOFTWARE of sysexits.h)


class MlharnessError(Exception):
    """Root of every error mlharness raises on purpose.

    ``message`` says what went wrong and where; ``hint`` says how to fix it.
    """

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The single line the CLI prints."""
        return f"{self.message} ({self.hint})" if self.hint else self.message


class SpecError(MlharnessError):
    """The project or entry point is not valid (no MLproject, unknown entry point)."""


class SourceError(MlharnessError):
    """The project source cannot be found or resolved (path, URL, commit)."""


class ParamError(MlharnessError):
    """One or more run parameters are invalid."""

    def __init__(self, problems: list[str], *, hint: str | None = None) -> None:
        self.problems = list(problems)
        joined = "; ".join(self.problems)
        super().__init__(f"invalid parameters: {joined}", hint=hint)


class ConfigError(MlharnessError):
    """A config file is invalid; ``problems`` holds every problem with its key path."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s): " + "; ".join(self.problems))


class CheckFailed(MlharnessError):
    """A check found a difference, or a run failed."""

    exit_code = ExitCode.DIFFERENT


class RunFailed(CheckFailed):
    """The launched run ended FAILED or KILLED."""


class RegistryError(MlharnessError):
    """Unknown model, version or alias, or another registry request that cannot be done."""


class StoredStateError(MlharnessError):
    """A record mlharness stored in the tracking store (a tag, a manifest) is not what it
    writes: corrupt, foreign, or from a newer mlharness. One line naming the run (or model)
    and the tag, with every problem found; exit 2, like any other bad input."""

    def __init__(self, owner: str, tag: str, problems: list[str], *, hint: str | None = None):
        self.owner = owner
        self.tag = tag
        self.problems = list(problems)
        super().__init__(
            f"{owner}: tag {tag} is not a record mlharness can read: " + "; ".join(problems),
            hint=hint or "was it written by this version of mlharness?",
        )


class ExternalServiceError(MlharnessError):
    """A tracking server, git remote or Airflow failed after retries."""

    exit_code = ExitCode.EXTERNAL


class InternalError(MlharnessError):
    """An unexpected exception reached the CLI: a bug, reported in one line (exit 70)."""

    exit_code = ExitCode.INTERNAL


__all__ = [
    "CheckFailed",
    "ConfigError",
    "ExitCode",
    "ExternalServiceError",
    "InternalError",
    "MlharnessError",
    "ParamError",
    "RegistryError",
    "RunFailed",
    "SourceError",
    "SpecError",
    "StoredStateError",
]
