"""Text output of ``mlharness run``, ``show``, ``replay`` and ``verify``.

Each function takes an operation's typed result and renders it (the ``--json`` form is
the result's own ``to_dict``, printed by ``harness.kernel.jsonout.print_json``). The one
place besides ``cli.py`` that may import rich.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table

if TYPE_CHECKING:  # comparison and perturbation (YAML) load only for verify's tables:
    # a cached run's one line must not pay for them
    from harness.run.comparison import Row
    from harness.run.operations import ReplayResult, RunResult, Shown, VerifyResult
    from harness.run.perturbation import PerturbationReport

__all__ = [
    "diff_table",
    "perturbation_table",
    "replay_line",
    "run_line",
    "show_manifest",
    "verify_report",
]


def _status_style(status: str) -> str:
    from harness.run.comparison import DIFFERS, SAME
    from harness.run.perturbation import DIVERGENT, IDENTICAL

    styles = {SAME: "green", DIFFERS: "bold red", IDENTICAL: "green", DIVERGENT: "bold red"}
    return styles.get(status, "yellow")


def _pairs(title: str, values: dict[str, Any]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left", expand=False)
    table.add_column("key", style="cyan", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in values.items():
        table.add_row(str(key), "" if value is None else str(value))
    return table


def run_line(result: RunResult) -> str:
    """``run: <id> FINISHED (metric=value, ...)`` or ``cached: <id>``."""
    if result.cached:
        return f"cached: {result.run_id}"
    metrics = ", ".join(f"{k}={v:.6g}" for k, v in result.metrics.items())
    return f"run: {result.run_id} {result.status}" + (f" ({metrics})" if metrics else "")


def replay_line(result: ReplayResult) -> str:
    """``replay: <new id> FINISHED (of <id>)``, and the recorded environment it ran in."""
    line = f"replay: {result.run_id} {result.status} (of {result.replay_of})"
    if result.recorded_env:
        line += f" in recorded environment {result.recorded_env['path']}"
    return line


def show_manifest(console: Console, shown: Shown) -> None:
    """Print a manifest section by section."""
    run_id, doc, digest_ok = shown.run_id, shown.manifest, shown.digest_matches
    env = dict(doc.get("environment", {}))
    packages = env.pop("pip_freeze", [])
    variables = env.pop("variables", {})
    env["packages"] = f"{len(packages)} (see --json)"
    spec = dict(doc.get("run_spec", {}))
    params = spec.pop("parameters", {})
    inputs = {
        k: f"{v.get('value')}  sha256:{v.get('digest')}" for k, v in doc.get("inputs", {}).items()
    }
    parts: list[Any] = [
        _pairs("source", dict(doc.get("source", {}))),
        _pairs("run spec", spec),
        _pairs("parameters", params),
        _pairs("metrics", doc.get("metrics", {})),
        _pairs("outputs (sha256)", doc.get("outputs", {})),
        _pairs("inputs", inputs),
        _pairs("environment", env),
        _pairs("recorded variables", variables),
        _pairs("timings", doc.get("timings", {})),
        _pairs(
            "cache",
            {
                "cache_key": doc.get("cache_key"),
                "digest": "matches tag" if digest_ok else "DOES NOT MATCH TAG",
            },
        ),
    ]
    title = f"run {run_id} (manifest schema {doc.get('schema_version')})"
    parts = [part for part in parts if part.row_count]
    console.print(Panel(Group(*parts), title=title, expand=False))


def verify_report(console: Console, result: VerifyResult) -> None:
    """The comparison table, then one line: identical, or how many values differ (with
    perturbations: the reproducibility table and its verdict)."""
    where = f" in recorded environment {result.recorded_env['path']}" if result.recorded_env else ""
    if result.perturbation is not None:
        from harness.run.perturbation import DIVERGENT

        report = result.perturbation
        console.print(perturbation_table(report))
        for note in report.notes:
            console.print(f"note: {note}")
        divergent = sum(row.status == DIVERGENT for row in report.rows)
        verdict = "reproducible" if report.reproducible else f"{divergent} value(s) divergent"
        console.print(
            f"run {report.run_id} under {', '.join(report.perturbations)}{where}: {verdict}"
        )
        return
    console.print(diff_table(result.rows))
    verdict = "identical" if result.identical else f"{result.differing} value(s) differ"
    console.print(f"replay {result.replay_run_id}{where}: {verdict}")


def perturbation_table(report: PerturbationReport) -> Table:
    """One row per metric and artifact digest: its status and what broke it."""
    table = Table(title=f"verify --perturb: run {report.run_id}", title_justify="left")
    for column in ("section", "name", "original", "status", "broken by"):
        table.add_column(column, overflow="fold")
    for row in report.rows:
        style = _status_style(row.status)
        table.add_row(
            row.section,
            row.name,
            _short(row.original),
            f"[{style}]{row.status}[/{style}]",
            ", ".join(row.broken_by),
        )
    return table


def diff_table(rows: list[Row]) -> Table:
    """The verify result: one row per compared value."""
    table = Table(title="verify: original vs replay", title_justify="left")
    for column in ("section", "name", "original", "replay", "status"):
        table.add_column(column, overflow="fold")
    for row in rows:
        style = _status_style(row.status)
        table.add_row(
            row.section,
            row.name,
            _short(row.original),
            _short(row.replay),
            f"[{style}]{row.status}[/{style}]",
        )
    return table


def _short(value: object) -> str:
    text = "" if value is None else str(value)
    return (
        text[:16] + "..."
        if len(text) == 64 and all(c in "0123456789abcdef" for c in text)
        else text
    )
