"""Rich tables and JSON for the registry commands (presentation only, no registry calls)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping

from rich.console import Console
from rich.table import Table

from harness.kernel.jsonout import print_json as print_json  # the one --json form, re-exported
from registry_tools.audit import AuditRecord
from registry_tools.gates import GateResult
from registry_tools.lineage import Lineage

KEY_METRICS = ("accuracy", "f1", "roc_auc", "log_loss")


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


def models_table(rows: Iterable[Mapping[str, object]]) -> Table:
    table = Table(title="registered models", title_justify="left")
    for column in ("name", "versions", "latest", "aliases", "description", "updated"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            *(
                str(row[c])
                for c in ("name", "versions", "latest", "aliases", "description", "updated")
            )
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
        commit = (row.manifest.commit or "-")[:12] if row.manifest else "-"
        table.add_row(
            row.version.version,
            ",".join(row.version.aliases) or "-",
            row.version.stage,
            row.version.status,
            row.version.created,
            (row.run_id or "-")[:12],
            metrics or "-",
            commit,
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
    table.add_row("stage", v.stage)
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
    if row.manifest is None:
        table.add_row("manifest", "none (run not launched by mlharness run)")
    else:
        m = row.manifest
        table.add_row("manifest digest", m.digest or "-")
        table.add_row("source uri", m.source_uri or "-")
        table.add_row("commit", f"{m.commit or '-'}{' (dirty)' if m.dirty else ''}")
        table.add_row("tree digest", m.tree_digest or "-")
        for key, text in sorted(m.inputs.items()):
            table.add_row(f"input {key}", text)
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
