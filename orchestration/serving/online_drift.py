"""Online drift: each feature of the served traffic against the model's reference profile.

The last ``window_rows`` rows the server predicted are kept per model version; every
``--drift-interval`` seconds they are compared with the reference profile that
``mlharness monitor profile --model`` logged beside the model, by the same drift engine as
``mlharness monitor drift`` (``monitoring.drift.run_drift``: same tests, same defaults,
same thresholds), and the per-feature gauges are set. The gauges exist with value 0 from
the start; with fewer than ``MIN_ROWS`` rows in the window, or without a profile, they stay
0 (a model without a profile is said so once in the log).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
from typing import TYPE_CHECKING

from monitoring.policy import Policy, Rule
from orchestration.serving.parsing import ByColumnsIndex

if TYPE_CHECKING:
    import pandas as pd

    from monitoring.profile import Profile
    from orchestration.serving.metrics import ServerMetrics
    from orchestration.serving.model_slot import LoadedModel

__all__ = ["MIN_ROWS", "OnlineDrift"]

log = logging.getLogger("mlharness.serve")

# Fewer rows than this are too few to say anything; the gauges stay 0.
MIN_ROWS = 30
NO_PROFILE_METHOD = "none"


class OnlineDrift:
    """The rolling window of one served version and its drift gauges."""

    def __init__(
        self,
        model: LoadedModel,
        metrics: ServerMetrics,
        *,
        window_rows: int,
        policy: Policy | None = None,
    ) -> None:
        self.model = model
        self.metrics = metrics
        self.window_rows = window_rows
        self.policy = policy or Policy()
        self._frames: collections.deque[pd.DataFrame] = collections.deque()
        self._rows = 0
        self._added = 0
        self._compared_at = 0
        self._lock = threading.Lock()
        # the features to select of the last columns Index seen by add
        self._kept_for: ByColumnsIndex[list[str] | None] = ByColumnsIndex(self._kept_of)
        self.profile = self._feature_profile(model.profile)
        if self.profile is None:
            self.features = list(model.feature_names)
            series = [(f, NO_PROFILE_METHOD) for f in self.features]
        else:
            self.features = list(self.profile.columns)
            series = [(c.name, self._rule(c.name).method) for c in self.profile.columns.values()]
        metrics.set_drift_series(series)

    def _feature_profile(self, profile: Profile | None) -> Profile | None:
        """The profile restricted to the model's input features (no target, no prediction)."""
        if profile is None:
            return None
        inputs = set(self.model.feature_names)
        columns = {
            name: column
            for name, column in profile.columns.items()
            if column.role == "feature" and (not inputs or name in inputs)
        }
        if not columns:
            log.warning(
                "%s: its profile has none of the model's input columns; drift gauges stay 0",
                self.model.info.uri,
            )
            return None
        return dataclasses.replace(profile, columns=columns, target=None, prediction=None)

    def _rule(self, name: str) -> Rule:
        assert self.profile is not None
        column = self.profile.columns[name]
        return self.policy.rule_for(name, column.kind, column.n_finite)

    @property
    def rows(self) -> int:
        return self._rows

    def _kept_of(self, columns: pd.Index) -> list[str] | None:
        """The features to select of a frame with these columns: None when one is missing,
        [] when the frame is exactly the features."""
        known = set(columns.tolist())
        if not all(f in known for f in self.features):
            return None
        return [] if list(columns) == self.features else list(self.features)

    def add(self, data: object) -> None:
        """Keep the feature columns of predicted rows (called on the predict thread)."""
        import pandas as pd

        if self.profile is None or not isinstance(data, pd.DataFrame):
            return
        kept = self._kept_for(data.columns)
        if kept is None:  # a feature is missing
            return
        frame = data[kept] if kept else data
        if len(frame) > self.window_rows:
            frame = frame.tail(self.window_rows)
        with self._lock:
            self._frames.append(frame)
            self._rows += len(frame)
            self._added += len(frame)
            while self._frames and self._rows - len(self._frames[0]) >= self.window_rows:
                self._rows -= len(self._frames.popleft())

    def refresh(self) -> bool:
        """Compare the window with the profile and set the gauges; False if nothing to do."""
        if self.profile is None:
            return False
        with self._lock:
            if self._rows < MIN_ROWS or self._added == self._compared_at:
                return False
            frames = list(self._frames)
            self._compared_at = self._added
        import pandas as pd
        import pyarrow as pa

        from monitoring.chunks import TableSource
        from monitoring.drift import run_drift

        window = pd.concat(frames, ignore_index=True).tail(self.window_rows)
        table = pa.Table.from_pandas(window, preserve_index=False)
        result = run_drift(
            self.profile, TableSource(table), self.policy, current_name="served traffic", threads=1
        )
        for column in result.columns:
            if column.role == "feature" and column.score is not None:
                self.metrics.set_drift(column.name, column.method, column.score, column.drift)
        return True
