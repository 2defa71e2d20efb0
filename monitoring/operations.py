"""The drift operations: build a reference profile, and check a batch against it.

``mlharness monitor profile`` and ``monitor drift`` parse their options and call these;
the demo and the Airflow drift task call them directly. They validate every input before
writing anything (a bad profile, batch or option is an ``MlharnessError`` with exit 2 and
no file written), never print, and return typed results the caller renders.

:func:`check_drift` owns every output of a drift check: the JSON and HTML reports, the
Prometheus textfile, the MLflow run and the Pushgateway push. Files are written first, so
a tracking server or Pushgateway that fails afterwards (exit 5) leaves the reports in place.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from harness.kernel.errors import SourceError
from monitoring.errors import DriftDetected
from monitoring.mlflow_log import EXPERIMENT
from monitoring.policy import DEFAULT_DRIFT_SHARE

if TYPE_CHECKING:
    from monitoring.chunks import ColumnSource
    from monitoring.drift import DriftResult
    from monitoring.policy import Policy
    from monitoring.profile import ColumnProfile, Profile

__all__ = [
    "ColumnSummary",
    "DriftOptions",
    "DriftOutcome",
    "DriftOutputs",
    "DriftPlan",
    "DriftProgress",
    "ProfileOptions",
    "ProfilePlan",
    "ProfileResult",
    "WrittenFile",
    "build_reference_profile",
    "check_drift",
]

# How many categories a column summary names.
TOP_CATEGORIES = 3


@dataclass(frozen=True)
class WrittenFile:
    """A file an operation wrote, and its size in bytes."""

    path: Path
    size: int

    @classmethod
    def of(cls, path: Path) -> WrittenFile:
        return cls(path, path.stat().st_size)


# -- monitor profile ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ProfileOptions:
    """How to build a profile (everything but the data and the output path)."""

    target: str | None = None
    prediction: str | None = None
    # A registered model (models:/name@alias): profile its run's data, log the profile there.
    model: str | None = None
    categorical: tuple[str, ...] = ()
    numerical: tuple[str, ...] = ()
    max_values: int | None = None
    threads: int = 2
    tracking_uri: str | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class ProfilePlan:
    """What a profile would be built from and where it goes."""

    data: str
    rows: int
    columns: tuple[str, ...]
    target: str | None
    prediction: str | None
    output: Path
    log_to_run: str | None


@dataclass(frozen=True)
class ColumnSummary:
    """One profiled column, for a readable summary."""

    name: str
    kind: str
    role: str
    n_finite: int
    n_excluded: int  # missing and infinite values
    n_distinct: int  # distinct values (numerical) or categories (categorical)
    mean: float | None = None
    std: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    sampled: bool = False
    top_categories: tuple[str, ...] = ()

    @classmethod
    def of(cls, column: ColumnProfile) -> ColumnSummary:
        numerical = column.kind == "numerical"
        return cls(
            name=column.name,
            kind=column.kind,
            role=column.role,
            n_finite=column.n_finite,
            n_excluded=column.nonfinite.total,
            n_distinct=column.n_distinct if numerical else len(column.categories),
            mean=column.mean,
            std=column.std,
            minimum=column.minimum,
            maximum=column.maximum,
            sampled=column.sampled,
            top_categories=tuple(list(column.categories)[:TOP_CATEGORIES]),
        )


@dataclass(frozen=True)
class ProfileResult:
    """The plan, and (unless a dry run) what was profiled and written."""

    plan: ProfilePlan
    dry_run: bool
    columns: tuple[ColumnSummary, ...] = ()
    files: tuple[WrittenFile, ...] = ()
    reference_metrics: dict[str, float] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def to_dict(self) -> dict[str, object]:
        """The ``--json`` document (the plan's keys, then what was written)."""
        plan = self.plan
        data: dict[str, object] = {
            "dry_run": self.dry_run,
            "data": plan.data,
            "rows": plan.rows,
            "columns": list(plan.columns),
            "target": plan.target,
            "prediction": plan.prediction,
            "output": str(plan.output),
            "log_to_run": plan.log_to_run,
        }
        if not self.dry_run:
            data.update(
                files=[str(f.path) for f in self.files],
                bytes=self.total_bytes,
                kinds={c.name: c.kind for c in self.columns},
                roles={c.name: c.role for c in self.columns},
                reference_metrics=dict(self.reference_metrics),
            )
        return data


def build_reference_profile(
    data: Path | str | None, output: Path | str, options: ProfileOptions | None = None
) -> ProfileResult:
    """Profile ``data`` (or, with ``options.model``, the model's run data) into ``output``
    (``.json`` header plus ``.npz`` payload beside it); with a model, log both to its run."""
    from monitoring.chunks import open_source

    options = options or ProfileOptions()
    data = None if data is None else Path(data)
    output = Path(output)
    if options.model is not None:
        from monitoring.model_data import resolve_model_data

        with resolve_model_data(options.model, data, tracking_uri=options.tracking_uri) as found:
            return _profile(
                found.source,
                found.description,
                output,
                options,
                target=options.target or found.target,
                prediction=options.prediction or found.prediction,
                log=found.log_profile,
                run_id=found.run_id,
            )
    if data is None:
        raise SourceError("give DATA or --model", hint="mlharness monitor profile data.csv")
    return _profile(
        open_source(data),
        str(data),
        output,
        options,
        target=options.target,
        prediction=options.prediction,
        log=None,
        run_id=None,
    )


class _LogProfile(Protocol):
    def __call__(self, paths: list[Path]) -> None: ...


def _profile(
    source: ColumnSource,
    name: str,
    output: Path,
    options: ProfileOptions,
    *,
    target: str | None,
    prediction: str | None,
    log: _LogProfile | None,
    run_id: str | None,
) -> ProfileResult:
    from monitoring.profile import build_profile, save_profile

    plan = ProfilePlan(
        data=name,
        rows=source.num_rows,
        columns=tuple(source.schema.names),
        target=target,
        prediction=prediction,
        output=output,
        log_to_run=run_id,
    )
    if options.dry_run:
        return ProfileResult(plan, dry_run=True)
    profile = build_profile(
        source,
        name=name,
        target=target,
        prediction=prediction,
        categorical=options.categorical,
        numerical=options.numerical,
        max_values=options.max_values,
        threads=options.threads,
    )
    written = save_profile(profile, output)
    if log is not None:
        log(written)
    return ProfileResult(
        plan,
        dry_run=False,
        columns=tuple(ColumnSummary.of(c) for c in profile.columns.values()),
        files=tuple(WrittenFile.of(p) for p in written),
        reference_metrics=dict(profile.reference_metrics),
    )


# -- monitor drift ------------------------------------------------------------------------------
@dataclass(frozen=True)
class DriftOptions:
    """How to compare (everything but the reference, the batch and the outputs)."""

    stattests: tuple[str, ...] = ()  # COL=METHOD[:THRESHOLD]
    drift_share: float = DEFAULT_DRIFT_SHARE
    threads: int = 2
    ks_pvalues: bool = False
    # The ``dataset`` label of the gauges and the Pushgateway grouping key (default: the
    # batch's file name without its suffix).
    dataset: str | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class DriftOutputs:
    """Where a drift check's results go; all optional."""

    report: Path | None = None  # the JSON report
    html: Path | None = None
    prometheus_textfile: Path | None = None
    pushgateway: str | None = None  # host:port or URL of a Pushgateway
    log_to_mlflow: bool = False
    experiment: str = EXPERIMENT
    tracking_uri: str | None = None

    def targets(self) -> list[str]:
        """Each output, as a plan line names it."""
        named = [
            ("report", self.report),
            ("html", self.html),
            ("prometheus_textfile", self.prometheus_textfile),
        ]
        found = [f"{kind}: {path}" for kind, path in named if path is not None]
        if self.log_to_mlflow:
            found.append(f"mlflow: experiment {self.experiment}")
        if self.pushgateway:
            found.append(f"pushgateway: {self.pushgateway}")
        return found


class DriftProgress(Protocol):
    """Told when the comparison starts and as each column is done (a progress bar)."""

    def start(self, name: str, columns: int, rows: int) -> None: ...

    def column_done(self, column: str) -> None: ...


@dataclass(frozen=True)
class DriftPlan:
    """What a drift check compares, with which test per column, and where results go."""

    reference: Path
    current: Path
    dataset: str
    rows: int
    methods: dict[str, str]
    outputs: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "dry_run": True,
            "reference": str(self.reference),
            "current": str(self.current),
            "dataset": self.dataset,
            "rows": self.rows,
            "columns": dict(self.methods),
            "outputs": list(self.outputs),
        }


@dataclass(frozen=True)
class DriftOutcome:
    """The plan and, unless a dry run, the result, its report and what was written."""

    plan: DriftPlan
    dry_run: bool
    result: DriftResult | None = None
    # The JSON report as written (``report_json.to_dict``; :class:`schemas.DriftReport`).
    report: dict[str, object] = field(default_factory=dict)
    files: tuple[WrittenFile, ...] = ()
    mlflow_run_id: str | None = None
    pushed_to: str | None = None

    @property
    def drifted(self) -> bool:
        """The data set drifted (the CLI exits 4)."""
        return self.result is not None and self.result.dataset_drift

    def drift_error(self) -> DriftDetected | None:
        """The error a caller raises to signal drift (exit 4), or None."""
        result = self.result
        if result is None or not result.dataset_drift:
            return None
        return DriftDetected(
            f"data-set drift: {result.n_drifted_features} of {result.n_features} features "
            f"drifted (share {result.drift_share:.2f} >= {result.drift_share_threshold:.2f})"
        )

    def to_dict(self) -> dict[str, object]:
        """The ``--json`` document: the plan for a dry run, else the report (with the MLflow
        run id when it was logged)."""
        if self.dry_run:
            return self.plan.to_dict()
        data = dict(self.report)
        if self.mlflow_run_id is not None:
            data["mlflow_run_id"] = self.mlflow_run_id
        return data


def check_drift(
    reference: Path | str,
    current: Path | str,
    options: DriftOptions | None = None,
    outputs: DriftOutputs | None = None,
    *,
    progress: DriftProgress | None = None,
) -> DriftOutcome:
    """Compare the batch ``current`` with the profile ``reference`` and write ``outputs``.

    Drift is a result, not an error: see :attr:`DriftOutcome.drifted` and
    :meth:`DriftOutcome.drift_error`. The Pushgateway receives every gauge plus
    ``mlharness_drift_last_success_timestamp_seconds`` (the check completed, drifted or not).
    """
    from monitoring.chunks import open_source
    from monitoring.policy import make_policy
    from monitoring.profile import check_batch_types, load_profile

    options = options or DriftOptions()
    outputs = outputs or DriftOutputs()
    reference, current = Path(reference), Path(current)
    policy = make_policy(options.stattests, options.drift_share)
    profile = load_profile(reference)
    source = open_source(current)
    policy.check({n: c.kind for n, c in profile.columns.items()})
    check_batch_types(profile, source.schema, str(current))
    plan = DriftPlan(
        reference=reference,
        current=current,
        dataset=options.dataset or current.stem,
        rows=source.num_rows,
        methods={
            name: policy.rule_for(name, c.kind, c.n_finite).method
            for name, c in profile.columns.items()
        },
        outputs=tuple(outputs.targets()),
    )
    if options.dry_run:
        return DriftOutcome(plan, dry_run=True)
    result = _compare(profile, source, policy, plan, options, progress)
    return _write_outputs(plan, result, outputs)


def _compare(
    profile: Profile,
    source: ColumnSource,
    policy: Policy,
    plan: DriftPlan,
    options: DriftOptions,
    progress: DriftProgress | None,
) -> DriftResult:
    from monitoring.drift import run_drift

    name = str(plan.current)
    if progress is not None:
        progress.start(name, len(profile.columns), source.num_rows)
    return run_drift(
        profile,
        source,
        policy,
        current_name=name,
        threads=options.threads,
        on_column_done=progress.column_done if progress is not None else None,
        all_pvalues=options.ks_pvalues,
    )


def _write_outputs(plan: DriftPlan, result: DriftResult, outputs: DriftOutputs) -> DriftOutcome:
    from monitoring import report_json

    report = report_json.to_dict(result)
    written: list[Path] = []
    if outputs.report is not None:
        written.append(report_json.write_json(report, outputs.report))
    if outputs.html is not None:
        from monitoring.report_html import write_html

        written.append(write_html(result, outputs.html))
    gauges = None
    if outputs.prometheus_textfile is not None or outputs.pushgateway:
        from monitoring.metrics import DriftMetrics  # prometheus_client: only when asked for

        gauges = DriftMetrics()
        gauges.update(result, plan.dataset)
        gauges.mark_success(time.time())
    if gauges is not None and outputs.prometheus_textfile is not None:
        outputs.prometheus_textfile.parent.mkdir(parents=True, exist_ok=True)
        gauges.write_textfile(outputs.prometheus_textfile)
        written.append(outputs.prometheus_textfile)
    run_id = None
    if outputs.log_to_mlflow:
        from monitoring.mlflow_log import log_report

        run_id = log_report(
            result,
            report,
            html_path=outputs.html,
            experiment=outputs.experiment,
            tracking_uri=outputs.tracking_uri,
        )
    if gauges is not None and outputs.pushgateway:
        gauges.push(outputs.pushgateway, plan.dataset)
    return DriftOutcome(
        plan,
        dry_run=False,
        result=result,
        report=report,
        files=tuple(WrittenFile.of(p) for p in written),
        mlflow_run_id=run_id,
        pushed_to=outputs.pushgateway or None,
    )
