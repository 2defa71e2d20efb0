"""Human-readable output: a manifest as panels of tables, a verify diff as one table."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table

from harness.verify import DIFFERS, SAME, Row

_STATUS_STYLE = {SAME: "green", DIFFERS: "bold red"}


def _pairs(title: str, values: dict[str, Any]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left", expand=False)
    table.add_column("key", style="cyan", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in values.items():
        table.add_row(str(key), "" if value is None else str(value))
    return table


def show_manifest(console: Console, run_id: str, doc: dict[str, Any], digest_ok: bool) -> None:
    """Print a manifest section by section."""
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


def diff_table(rows: list[Row]) -> Table:
    """The verify result: one row per compared value."""
    table = Table(title="verify: original vs replay", title_justify="left")
    for column in ("section", "name", "original", "replay", "status"):
        table.add_column(column, overflow="fold")
    for row in rows:
        style = _STATUS_STYLE.get(row.status, "yellow")
        table.add_row(
            row.section,
            row.name,
            _short(row.original),
            _short(row.replay),
            f"[{style}]{row.status}[/{style}]",
        )
    return table


def _short(value: Any) -> str:
    text = "" if value is None else str(value)
    return (
        text[:16] + "..."
        if len(text) == 64 and all(c in "0123456789abcdef" for c in text)
        else text
    )
