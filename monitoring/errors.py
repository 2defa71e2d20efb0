"""Errors the monitoring package raises, on top of the shared exit-code table."""

from __future__ import annotations

from harness.kernel.errors import ExitCode, MlharnessError

__all__ = ["DriftDetected"]


class DriftDetected(MlharnessError):
    """Data-set drift was found (exit 4, so a pipeline can branch on it)."""

    exit_code = ExitCode.DRIFT
