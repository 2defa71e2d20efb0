"""A typed tracking store at one URI: the run room's calls into MLflow's tracking API.

Like ``harness.store.registry`` for the registry: the connection, the retry policy and the
conversion of failures are ``mlflow_boundary``'s (an unknown run is ``SourceError``, exit 2;
a store that cannot be reached ``ExternalServiceError``, exit 5). What this adds is the few
questions the harness asks, each answered in one place: the newest FINISHED run with a tag
(the run cache), an artifact that may be absent (a manifest), and the code that must run
with MLflow's process globals pointed at this store (``mlflow.projects.run``, experiment
lookup by name), inside the boundary's one scoped context.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from harness.kernel.errors import MlharnessError
from harness.store import mlflow_api, mlflow_boundary

if TYPE_CHECKING:
    from mlflow.entities import Run

    from harness.store.mlflow_boundary import Client

__all__ = ["Tracking"]

P = ParamSpec("P")
T = TypeVar("T")


class Tracking:
    """The tracking store at ``tracking_uri`` (resolved), with mlharness errors."""

    def __init__(self, tracking_uri: str | None = None, *, client: Client | None = None) -> None:
        self.tracking_uri = mlflow_boundary.connect(tracking_uri)
        self.client: Client = client or mlflow_boundary.client(self.tracking_uri)

    def call(self, what: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run one MLflow call; a failure of the store becomes an mlharness error."""
        with mlflow_boundary.converted(self.tracking_uri, what):
            return fn(*args, **kwargs)

    # -- runs ---------------------------------------------------------------------------------
    def get_run(self, run_id: str) -> Run:
        return self.call(f"find run {run_id}", self.client.get_run, run_id)

    def run_tags(self, run_id: str) -> dict[str, str]:
        return {str(k): str(v) for k, v in self.get_run(run_id).data.tags.items()}

    def newest_finished_with_tag(self, tag: str, value: str) -> str | None:
        """The newest FINISHED run (any active experiment) tagged ``tag=value``, or None."""
        ids: list[str] = []
        token: str | None = None
        while True:
            page = self.call(
                "list experiments",
                self.client.search_experiments,
                max_results=1000,
                page_token=token,
            )
            ids.extend(str(e.experiment_id) for e in page)
            token = page.token
            if not token:
                break
        if not ids:
            return None
        runs = self.call(
            f"look up {tag}",
            self.client.search_runs,
            ids,
            filter_string=f"tags.`{tag}` = '{value}' and attributes.status = 'FINISHED'",
            max_results=1,
            order_by=["attributes.start_time DESC"],
        )
        return str(runs[0].info.run_id) if runs else None

    # -- artifacts ----------------------------------------------------------------------------
    def has_artifact(self, run_id: str, path: str) -> bool:
        """Whether the run logged ``path`` (its directory listed: absence is an answer of
        the store, not a failure)."""
        directory = path.rpartition("/")[0]
        listed = self.call(
            f"list artifacts of run {run_id}", self.client.list_artifacts, run_id, directory
        )
        return any(item.path == path for item in listed)

    def read_artifact(self, run_id: str, path: str) -> bytes | None:
        """The bytes of artifact ``path`` of a run, or None when the run has no such file."""
        if not self.has_artifact(run_id, path):
            return None
        with tempfile.TemporaryDirectory(prefix="mlharness-artifact-") as tmp:
            local = self.call(
                f"download {path} of run {run_id}",
                self.client.download_artifacts,
                run_id,
                path,
                tmp,
            )
            return Path(local).read_bytes()

    def has_artifacts(self, run_id: str) -> bool:
        listed = self.call(f"list artifacts of run {run_id}", self.client.list_artifacts, run_id)
        return bool(listed)

    def download_run(self, run_id: str, dst: str) -> Path:
        """Every artifact of a run, downloaded under ``dst``."""
        import mlflow.artifacts

        local = self.call(
            f"download the artifacts of run {run_id}",
            mlflow.artifacts.download_artifacts,
            run_id=run_id,
            dst_path=dst,
            tracking_uri=self.tracking_uri,
        )
        return Path(local)

    # -- what needs MLflow's process globals ---------------------------------------------------
    def experiment_id(self, experiment_name: str | None) -> str:
        """The id of ``experiment_name`` (created when missing; MLflow's default for None,
        which honours ``MLFLOW_EXPERIMENT_NAME``/``_ID``)."""
        with mlflow_boundary.fluent_uri(self.tracking_uri):
            return self.call(
                f"find experiment {experiment_name or '(default)'}",
                mlflow_api.resolve_experiment_id,
                experiment_name,
            )

    def run_project(
        self,
        project_dir: Path,
        entry_point: str,
        parameters: dict[str, str],
        *,
        experiment_id: str,
        env_manager: str,
        run_id: str,
        child_env: Mapping[str, str] | None = None,
    ) -> None:
        """``mlflow.projects.run`` on an existing run, synchronously, with this store as
        MLflow's global URI and ``child_env`` in the environment the entry point inherits
        (both for the call only). MLflow's own errors propagate (the caller reports a
        failed run); a store that cannot be reached is ``ExternalServiceError``."""
        with mlflow_boundary.fluent_uri(self.tracking_uri, env=child_env):
            try:
                mlflow_api.run_project(
                    project_dir,
                    entry_point,
                    parameters,
                    experiment_id=experiment_id,
                    env_manager=env_manager,
                    run_id=run_id,
                )
            except MlharnessError:
                raise
            except Exception as exc:
                if mlflow_boundary.classify(exc) is mlflow_boundary.Failure.UNREACHABLE:
                    raise mlflow_boundary.convert(self.tracking_uri, "launch the run", exc) from exc
                raise
