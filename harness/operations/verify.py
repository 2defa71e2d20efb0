"""The verify operation: replay a run and compare the two manifests value by value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness import comparison, mlflow_boundary, replay

__all__ = ["VerifyRequest", "VerifyResult", "verify"]


@dataclass(frozen=True)
class VerifyRequest:
    """The run to verify, and per-metric relative tolerances (default: exact)."""

    run_id: str
    rtols: Mapping[str, float] = field(default_factory=dict)
    tracking_uri: str | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class VerifyResult:
    """Every compared value (``rows``) of the original and its replay, or for a dry run
    the recorded plan only (``replay_run_id`` None, no rows)."""

    run_id: str
    source: dict[str, Any]
    run_spec: dict[str, Any]
    rtols: dict[str, float]
    replay_run_id: str | None = None
    rows: list[comparison.Row] = field(default_factory=list)

    @property
    def dry_run(self) -> bool:
        return self.replay_run_id is None

    @property
    def identical(self) -> bool:
        return comparison.identical(self.rows)

    @property
    def differing(self) -> int:
        return sum(row.status == comparison.DIFFERS for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form of ``mlharness verify``."""
        if self.dry_run:
            return {
                "dry_run": True,
                "source": self.source,
                "run_spec": self.run_spec,
                "rtol": self.rtols,
            }
        return {
            "run_id": self.run_id,
            "replay_run_id": self.replay_run_id,
            "identical": self.identical,
            "rows": [row.as_dict() for row in self.rows],
        }


def verify(request: VerifyRequest) -> VerifyResult:
    """Load and check the manifest, refuse tolerances for unknown metrics (before anything
    runs), replay, compare. A difference is a result, not an error: the CLI maps
    ``identical`` False to exit 1."""
    uri = mlflow_boundary.connect(request.tracking_uri)
    original = replay.load_checked(request.run_id, uri)
    rtols = dict(request.rtols)
    planned = VerifyResult(request.run_id, original["source"], original["run_spec"], rtols)
    if request.dry_run:
        return planned
    comparison.check_rtol_names(rtols, original)
    _, outcome = replay.replay(request.run_id, uri, quiet_stdout=True, original=original)
    rows = comparison.compare(original, outcome.manifest or {}, rtols)
    return VerifyResult(
        request.run_id, original["source"], original["run_spec"], rtols, outcome.run_id, rows
    )
