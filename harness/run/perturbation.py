"""How reproducible a run is: replay it under perturbations and label every result.

``verify --perturb threads,hashseed[,order]`` replays the run once per perturbation:

- ``threads``: the thread pools at 1 and at N (``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``,
  ``OPENBLAS_NUM_THREADS``...): a parallel reduction that sums in another order changes
  the last bits of a float;
- ``hashseed``: another ``PYTHONHASHSEED``: set iteration order over strings changes;
- ``order``: the rows of every CSV file given as a ``path`` parameter, shuffled with a
  fixed seed, for entry points that declare their result independent of row order, in
  the MLproject file (MLflow ignores the key)::

      mlharness:
        row_order_safe: [evaluate]

Each metric and each artifact digest of the original is then labelled ``identical``
(equal in every replay), ``within rtol`` (every difference inside the metric's
``--rtol``) or ``divergent``, with the perturbations that broke it.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from harness.kernel.errors import ParamError

if TYPE_CHECKING:
    from harness.schemas.manifest import RunManifest

__all__ = [
    "DIVERGENT",
    "IDENTICAL",
    "KINDS",
    "TAG_PERTURBATION",
    "THREAD_VARIABLES",
    "WITHIN",
    "Perturbation",
    "PerturbationReport",
    "ResultRow",
    "compare",
    "parse_kinds",
    "perturbations",
    "row_order_safe",
]

KINDS = ("threads", "hashseed", "order")
IDENTICAL = "identical"
WITHIN = "within rtol"
DIVERGENT = "divergent"
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
ORDER_SEED = 20260101
TAG_PERTURBATION = "mlharness.perturbation"
HASHSEEDS = ("12345", "54321")


@dataclass(frozen=True)
class Perturbation:
    """One replay's change: environment variables and replaced parameter values."""

    label: str
    variables: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ResultRow:
    """One metric or artifact digest across the replays."""

    section: str  # "metrics" or "outputs"
    name: str
    original: Any
    status: str
    broken_by: list[str]
    replays: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PerturbationReport:
    """The reproducibility table of a run, and which replay ran under which perturbation."""

    run_id: str
    perturbations: list[str]
    replay_run_ids: dict[str, str]
    rows: list[ResultRow]
    notes: list[str]

    @property
    def reproducible(self) -> bool:
        """Everything identical or within tolerance."""
        return all(row.status != DIVERGENT for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "perturbations": self.perturbations,
            "replay_run_ids": self.replay_run_ids,
            "reproducible": self.reproducible,
            "rows": [row.to_dict() for row in self.rows],
            "notes": self.notes,
        }


def parse_kinds(text: str) -> list[str]:
    """``"threads,hashseed"`` -> ``["threads", "hashseed"]``; unknown names are exit 2."""
    kinds = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown or not kinds:
        raise ParamError(
            [f"--perturb: unknown perturbation {kind!r}" for kind in unknown]
            or ["--perturb: no perturbation named"],
            hint=f"--perturb takes a comma-separated list of {', '.join(KINDS)}",
        )
    return list(dict.fromkeys(kinds))


def row_order_safe(project_dir: Path, entry_point: str) -> bool:
    """Does the MLproject declare ``entry_point``'s result independent of input row order?"""
    for name in ("MLproject", "mlproject"):
        file = project_dir / name
        if file.is_file():
            try:
                data = yaml.safe_load(file.read_text())
            except yaml.YAMLError:
                return False
            declared = (data or {}).get("mlharness", {}) if isinstance(data, dict) else {}
            safe = declared.get("row_order_safe", []) if isinstance(declared, dict) else []
            return isinstance(safe, list) and entry_point in safe
    return False


def _shuffled_csv(source: Path, target: Path) -> bool:
    """Write ``source``'s rows in another (seeded) order under its header; False when it
    is not a CSV file with at least two rows."""
    if not source.is_file() or source.suffix.lower() != ".csv":
        return False
    header, *rows = source.read_text().splitlines(keepends=True)
    if len(rows) < 2:
        return False
    order = list(range(len(rows)))
    rng = random.Random(ORDER_SEED)
    while order == sorted(order):
        rng.shuffle(order)
    if not rows[-1].endswith("\n"):
        rows[-1] += "\n"
    target.write_text(header + "".join(rows[i] for i in order))
    return True


def perturbations(
    kinds: Sequence[str],
    *,
    project_dir: Path,
    entry_point: str,
    inputs: Mapping[str, str],
    recorded_variables: Mapping[str, str],
    workdir: Path,
) -> tuple[list[Perturbation], list[str]]:
    """The replays ``kinds`` ask for, and notes on what could not be perturbed.

    ``inputs`` are the run's path parameters (name -> local file) for ``order``.
    """
    planned: list[Perturbation] = []
    notes: list[str] = []
    for kind in kinds:
        if kind == "threads":
            many = str(max(2, os.cpu_count() or 2))
            for count in ("1", many):
                planned.append(
                    Perturbation(f"threads={count}", dict.fromkeys(THREAD_VARIABLES, count))
                )
        elif kind == "hashseed":
            recorded = recorded_variables.get("PYTHONHASHSEED")
            seed = HASHSEEDS[1] if recorded == HASHSEEDS[0] else HASHSEEDS[0]
            planned.append(Perturbation(f"hashseed={seed}", {"PYTHONHASHSEED": seed}))
        elif not row_order_safe(project_dir, entry_point):
            notes.append(
                f"order: entry point {entry_point!r} does not declare its result independent "
                "of row order (MLproject: mlharness.row_order_safe); not perturbed"
            )
        else:
            shuffled: dict[str, str] = {}
            for name, value in sorted(inputs.items()):
                target = workdir / f"{name}-shuffled{Path(value).suffix}"
                if _shuffled_csv(Path(value), target):
                    shuffled[name] = str(target)
            if shuffled:
                planned.append(Perturbation("order", {}, shuffled))
            else:
                notes.append(f"order: entry point {entry_point!r} reads no CSV path parameter")
    return planned, notes


def _metric_status(original: Any, values: Mapping[str, Any], rtol: float | None) -> str:
    if all(value == original for value in values.values()):
        return IDENTICAL
    numeric = [
        isinstance(v, int | float) and isinstance(original, int | float) for v in values.values()
    ]
    if (
        rtol is not None
        and all(numeric)
        and all(math.isclose(v, original, rel_tol=rtol, abs_tol=0.0) for v in values.values())
    ):
        return WITHIN
    return DIVERGENT


def compare(
    original: RunManifest,
    replays: Mapping[str, RunManifest],
    rtols: Mapping[str, float] | None = None,
) -> list[ResultRow]:
    """One row per metric and artifact digest of the original and its perturbed replays
    (``replays``: perturbation label -> replay manifest)."""
    rtols = rtols or {}
    rows: list[ResultRow] = []
    sections: list[tuple[str, Mapping[str, object], dict[str, Mapping[str, object]]]] = [
        ("metrics", original.metrics, {label: doc.metrics for label, doc in replays.items()}),
        ("outputs", original.outputs, {label: doc.outputs for label, doc in replays.items()}),
    ]
    for section, recorded, replayed in sections:
        names = set(recorded).union(*replayed.values())
        for name in sorted(names):
            first = recorded.get(name)
            values = {label: found.get(name) for label, found in replayed.items()}
            status = _metric_status(
                first, values, rtols.get(name) if section == "metrics" else None
            )
            broken = [label for label, value in values.items() if value != first]
            rows.append(ResultRow(section, name, first, status, broken, values))
    return rows
