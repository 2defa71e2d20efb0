"""Errors only the registry tools raise, on top of the shared exit-code table.

Everything else uses ``harness.errors`` directly (RegistryError for bad input, GateError for
failed gates, ExternalServiceError for an unreachable tracking server).
"""

from __future__ import annotations

from harness.errors import CheckFailed


class PromotionConflict(CheckFailed):
    """Another writer moved the alias (or holds its lock) while this change was being made.

    Exit code 1, distinct from bad input (2), a failed gate (3) and an unreachable server (5),
    so a script can tell "re-run me" apart from "fix your command". Nothing was changed.
    """
