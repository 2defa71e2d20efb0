"""Rich tables and text for the registry commands (presentation only, no registry calls).

Each function turns one operation's typed result into what ``registry_tools.cli`` prints;
``--json`` prints the result's ``to_dict()`` with ``print_json`` instead.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from rich.console import Console
from rich.table import Table

from harness.kernel.jsonout import print_json as print_json  # the one --json form, re-exported
from registry_tools.aliases import AliasChange
from registry_tools.audit import AuditRecord
from registry_tools.catalog import ModelSummary, ModelView
from registry_tools.gates import GateResult
from registry_tools.lineage import Lineage
from registry_tools.promote import Promotion
from registry_tools.rollback import Rollback
from registry_tools.tags import TagChange
from registry_tools.versions import Registration

__all__ = [
    "KEY_METRICS",
    "alias_lines",
    "audit_table",
    "console",
    "gate_table",
    "lineage_table",
    "models_table",
    "print_json",
    "promotion_lines",
    "promotion_title",
    "registration_lines",
    "rollback_lines",
    "show_tables",
    "tag_lines",
    "versions_table",
]

KEY_METRICS = ("accuracy", "f1", "roc_auc", "log_loss", "rmse", "mae", "r2")


def console(stderr: bool = False) -> Console:
    """A console that does not squeeze tables to 80 columns when output is piped."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 160
    return Console(file=stream, width=width, highlight=False, soft_wrap=False)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def gate_table(title: str, results: Iterable[GateResult]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("gate", "candidate", "reference", "against", "result"):
        table.add_column(column)
    for r in results:
        verdict = "skipped (pass)" if r.skipped else ("pass" if r.passed else "FAIL")
        style = "green" if r.passed else "bold red"
        table.add_row(r.gate, _fmt(r.candidate), _fmt(r.reference), r.against, verdict, style=style)
    return table


def _or_dash(value: str | None) -> str:
    """The one spelling of "nothing" in every table."""
    return value or "-"


def models_table(models: Iterable[ModelSummary]) -> Table:
    table = Table(title="registered models", title_justify="left")
    for column in ("name", "versions", "latest", "aliases", "description", "updated"):
        table.add_column(column)
    for m in models:
        aliases = ", ".join(f"{a}=v{v}" for a, v in sorted(m.aliases.items()))
        table.add_row(
            m.name,
            str(m.versions),
            m.latest,
            _or_dash(aliases),
            _or_dash(m.description),
            _or_dash(m.updated),
        )
    return table


def versions_table(name: str, rows: Iterable[Lineage]) -> Table:
    table = Table(title=f"versions of {name}", title_justify="left")
    for column in (
        "version",
        "aliases",
        "stage",
        "status",
        "created",
        "run",
        "metrics",
        "commit",
        "description",
    ):
        table.add_column(column, overflow="fold")
    for row in rows:
        metrics = " ".join(
            f"{k}={row.metrics[k]:.4g}" for k in KEY_METRICS if k in row.metrics
        ) or " ".join(f"{k}={v:.4g}" for k, v in sorted(row.metrics.items())[:4])
        table.add_row(
            row.version.version,
            ",".join(row.version.aliases) or "-",
            _or_dash(row.version.stage),
            row.version.status,
            row.version.created,
            (row.run_id or "-")[:12],
            metrics or "-",
            _or_dash(row.commit)[:12],
            row.version.description or "-",
        )
    return table


def lineage_table(row: Lineage) -> Table:
    """Everything known about one version, as key/value rows."""
    v = row.version
    table = Table(title=f"{v.name} version {v.version}", title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    table.add_row("aliases", ", ".join(v.aliases) or "-")
    table.add_row("stage", _or_dash(v.stage))
    table.add_row("status", v.status)
    table.add_row("created", v.created)
    table.add_row("description", v.description or "-")
    table.add_row("source", v.source)
    table.add_row(
        "run",
        f"{row.run_id or '-'} (experiment {row.experiment_id or '-'}, {row.run_status or '-'})",
    )
    for key, value in sorted(row.metrics.items()):
        table.add_row(f"metric {key}", f"{value:.6g}")
    for key, text in sorted(row.params.items()):
        table.add_row(f"param {key}", text)
    for key, text in sorted(row.datasets.items()):
        table.add_row(f"dataset {key}", text)
    dirty = " (dirty)" if row.manifest and row.manifest.dirty else ""
    table.add_row("commit", f"{_or_dash(row.commit)}{dirty}")
    if row.manifest is None:
        table.add_row("manifest", "none (run not launched by mlharness run)")
    else:
        m = row.manifest
        table.add_row("manifest digest", m.digest or "-")
        table.add_row("source uri", m.source_uri or "-")
        table.add_row("tree digest", m.tree_digest or "-")
        for key, digest in sorted(m.inputs.items()):
            table.add_row(f"input {key}", digest or "- (not digested: remote)")
    for key, text in sorted(v.tags.items()):
        table.add_row(f"tag {key}", text)
    return table


def audit_table(name: str, records: Iterable[AuditRecord]) -> Table:
    table = Table(title=f"alias audit trail of {name}", title_justify="left")
    for column in ("alias", "seq", "action", "from", "to", "gates", "time", "user"):
        table.add_column(column, overflow="fold")
    for r in records:
        gates = ", ".join(f"{g.gate}:{'pass' if g.passed else 'FAIL'}" for g in r.gates) or "-"
        table.add_row(
            r.alias,
            str(r.seq),
            r.action,
            r.previous or "-",
            r.version or "-",
            gates,
            r.time,
            r.user,
        )
    return table


def _planned(lines: Iterable[str], dry_run: bool) -> list[str]:
    return [f"{'would ' if dry_run else ''}{line}" for line in lines]


def registration_lines(result: Registration) -> list[str]:
    """The plan (``would ...`` for a dry run) and, once done, what was registered."""
    lines = _planned(result.plan, result.dry_run)
    v = result.version
    if v is not None and not result.dry_run:
        lines.append(
            f"{'registered' if result.created else 'already registered'}: {v.name} version "
            f"{v.version} ({v.status}) from run {v.run_id}"
            + (f", aliases {', '.join(v.aliases)}" if v.aliases else "")
        )
    return lines


def tag_lines(change: TagChange) -> list[str]:
    where = f"{change.name} version {change.version}" if change.version else change.name
    lines = [f"set tag {k}={v} on {where}" for k, v in change.set.items()]
    lines += [f"remove tag {k} from {where}" for k in change.removed]
    if change.description is not None:
        lines.append(f"describe {where}: {change.description}")
    return _planned(lines, change.dry_run)


def alias_lines(change: AliasChange) -> list[str]:
    if change.version is None:
        return _planned(
            [f"remove alias {change.alias} of {change.name} (was version {change.previous})"],
            change.dry_run,
        )
    if not change.changed:
        return [f"alias {change.alias} of {change.name} already points at version {change.version}"]
    return _planned(
        [
            f"set alias {change.alias} of {change.name} to version {change.version} "
            f"(was {change.previous or 'unset'})"
        ],
        change.dry_run,
    )


def promotion_title(result: Promotion) -> str:
    p = result.plan
    now = f"version {p.current}" if p.current else "unset"
    return f"promote {p.name} version {p.candidate} to {p.alias} (now: {now})"


def promotion_lines(result: Promotion) -> list[str]:
    """What happened after the gate table: nothing for a refusal (its error says it)."""
    p = result.plan
    if result.refused:
        return []
    if p.noop:
        return [f"version {p.candidate} already holds {p.alias}; nothing to do"]
    audit = f" (audit seq {result.record.seq})" if result.record else ""
    verb = "would move" if result.dry_run else "moved"
    return [f"{verb} {p.alias} of {p.name}: {p.current or 'unset'} -> {p.candidate}{audit}"]


def rollback_lines(result: Rollback) -> list[str]:
    return _planned(
        [f"roll back {result.alias} of {result.name}: version {result.current} -> {result.target}"],
        result.dry_run,
    )


def show_tables(view: ModelView, one_version: bool) -> list[Table]:
    """``show``: one key/value table per version (``--version``) or the versions table,
    then the audit trail."""
    tables = (
        [lineage_table(row) for row in view.versions]
        if one_version
        else [versions_table(view.name, view.versions)]
    )
    if view.audit:
        tables.append(audit_table(view.name, view.audit))
    return tables
