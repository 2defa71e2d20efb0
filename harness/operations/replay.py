"""The replay operation: re-execute a run from its manifest (recorded commit, entry point,
parameters and env manager), or, for a dry run, say what would run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness import mlflow_boundary, replay

__all__ = ["ReplayRequest", "ReplayResult", "replay_run"]


@dataclass(frozen=True)
class ReplayRequest:
    """The run to replay and where it lives."""

    run_id: str
    tracking_uri: str | None = None
    dry_run: bool = False
    # Send the entry point's output to stderr, so a --json document on stdout stays clean.
    quiet_stdout: bool = False


@dataclass(frozen=True)
class ReplayResult:
    """The new run (``run_id``, ``status``), or for a dry run only the recorded plan."""

    replay_of: str
    source: dict[str, Any]
    run_spec: dict[str, Any]
    run_id: str | None = None
    status: str = "PLANNED"

    @property
    def dry_run(self) -> bool:
        return self.run_id is None

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form of ``mlharness replay``."""
        if self.dry_run:
            return {"dry_run": True, "source": self.source, "run_spec": self.run_spec}
        return {"replay_of": self.replay_of, "run_id": self.run_id, "status": self.status}


def replay_run(request: ReplayRequest) -> ReplayResult:
    """Check the manifest (refused when edited or newer), then launch it again.

    Raises ``SpecError``/``SourceError`` (exit 2) for a refused manifest or lost code,
    ``RunFailed`` (exit 1) when the replay ends FAILED or KILLED.
    """
    uri = mlflow_boundary.connect(request.tracking_uri)
    original = replay.load_checked(request.run_id, uri)
    if request.dry_run:
        return ReplayResult(request.run_id, original["source"], original["run_spec"])
    _, outcome = replay.replay(
        request.run_id, uri, quiet_stdout=request.quiet_stdout, original=original
    )
    return ReplayResult(
        request.run_id, original["source"], original["run_spec"], outcome.run_id, outcome.status
    )
