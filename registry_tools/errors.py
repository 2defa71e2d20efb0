"""Errors the registry tools raise, on top of the shared exit-code table (harness.kernel).

``RegistryError`` lives in the kernel, because the registry facade in ``harness.store`` raises it.
"""

from __future__ import annotations

from harness.kernel.errors import CheckFailed, ExitCode, MlharnessError, RegistryError

__all__ = ["GateError", "PromotionConflict", "RegistryError"]


class GateError(MlharnessError):
    """A promotion gate failed; nothing was changed."""

    exit_code = ExitCode.GATE_FAILED


class PromotionConflict(CheckFailed):
    """Another writer moved the alias (or holds its lock) while this change was being made.

    Exit code 1, distinct from bad input (2), a failed gate (3) and an unreachable server (5),
    so a script can tell "re-run me" apart from "fix your command". Nothing was changed.
    """
