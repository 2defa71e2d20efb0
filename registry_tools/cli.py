"""``mlharness registry ...``: versions, tags, aliases, gated promotion and rollback.

Mounted lazily by ``harness/app.py`` as ``registry_tools.cli:app``. Every command takes
``--tracking-uri`` and ``--json``; every command that changes state takes ``--dry-run``.
Each command parses its options, calls one function of ``registry_tools.operations`` (which
binds the operation to the store at ``--tracking-uri``), and renders the typed result
(``render``, or ``--json``).
Errors are raised as mlharness errors and turned into ``error: ...`` and an exit code by
the root app.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Literal

import typer

from registry_tools import render

__all__ = ["app"]

app = typer.Typer(
    name="registry",
    no_args_is_help=True,
    add_completion=False,
    help="Model Registry: versions, tags, aliases, gated promotion, rollback, lineage.",
)
tag_app = typer.Typer(no_args_is_help=True, help="Set or remove tags of a model version.")
alias_app = typer.Typer(no_args_is_help=True, help="Set or remove an alias (audited).")
app.add_typer(tag_app, name="tag")
app.add_typer(alias_app, name="alias")

TrackingUri = Annotated[
    str | None,
    typer.Option("--tracking-uri", help="Tracking/registry URI (default: MLflow's default)."),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show the plan; change nothing.")]
Stage = Annotated[
    str | None,
    typer.Option(
        "--stage", help="Deprecated stages: Staging|Production -> alias, Archived -> tag."
    ),
]


def _notes(notes: Iterable[str]) -> None:
    for note in notes:
        render.console(stderr=True).print(note, style="yellow")


def _lines(lines: Iterable[str]) -> None:
    out = render.console()
    for line in lines:
        out.print(line)


@app.command()
def register(
    source: Annotated[str, typer.Argument(help="Run id, runs:/<id>/<path> or models:/m-<id>.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Registered model name.")],
    tag: Annotated[list[str] | None, typer.Option("--tag", help="KEY=VALUE (repeatable).")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    alias: Annotated[str | None, typer.Option("--alias", help="Point this alias at it.")] = None,
    stage: Stage = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for READY.")] = 300,
    tracking_uri: TrackingUri = None,
    json_out: JsonOut = False,
    dry_run: DryRun = False,
) -> None:
    """Register a model version (idempotent) and wait until it is READY."""
    from harness.kernel.assignments import parse_assignments
    from registry_tools import operations

    result = operations.register(
        source,
        name,
        tags=parse_assignments(tag or [], option="--tag"),
        description=description,
        alias=alias,
        stage=stage,
        timeout_s=timeout,
        dry_run=dry_run,
        tracking_uri=tracking_uri,
    )
    _notes(result.notes)
    if json_out:
        render.print_json(result.to_dict())
    else:
        _lines(render.registration_lines(result))


@app.command("list")
def list_command(tracking_uri: TrackingUri = None, json_out: JsonOut = False) -> None:
    """List registered models with their versions and aliases."""
    from registry_tools import operations

    models = operations.list_models(tracking_uri=tracking_uri)
    if json_out:
        render.print_json([m.to_dict() for m in models])
    else:
        render.console().print(render.models_table(models))


@app.command()
def show(
    name: str,
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="Only this version.")
    ] = None,
    stage: Stage = None,
    tracking_uri: TrackingUri = None,
    json_out: JsonOut = False,
) -> None:
    """Show versions with aliases, tags, run metrics/params and manifest lineage."""
    from registry_tools import operations

    view = operations.show(name, version=version, stage=stage, tracking_uri=tracking_uri)
    _notes(view.notes)
    if json_out:
        render.print_json(view.to_dict())
        return
    out = render.console()
    for table in render.show_tables(view, one_version=version is not None):
        out.print(table)


@tag_app.command("set")
def tag_set(
    name: str,
    version: str,
    pairs: Annotated[list[str], typer.Argument(help="KEY=VALUE ...")],
    tracking_uri: TrackingUri = None,
    json_out: JsonOut = False,
    dry_run: DryRun = False,
) -> None:
    """Set tags on a model version."""
    from harness.kernel.assignments import parse_assignments
    from registry_tools import operations

    parsed = parse_assignments(pairs, option="tag")
    change = operations.set_tags(name, version, parsed, dry_run=dry_run, tracking_uri=tracking_uri)
    _render(change.to_dict(), render.tag_lines(change), json_out)


@tag_app.command("rm")
def tag_rm(
    name: str,
    version: str,
    keys: Annotated[list[str], typer.Argument(help="KEY ...")],
    tracking_uri: TrackingUri = None,
    json_out: JsonOut = False,
    dry_run: DryRun = False,
) -> None:
    """Remove tags from a model version."""
    from registry_tools import operations

    change = operations.remove_tags(name, version, keys, dry_run=dry_run, tracking_uri=tracking_uri)
    _render(change.to_dict(), render.tag_lines(change), json_out)


@app.command()
def describe(
    name: str,
    text: Annotated[str, typer.Argument(help="The new description.")],
    version: Annotated[
        str | None,
        typer.Option("--version", "-v", help="A version (default: the registered model)."),
    ] = None,
    tracking_uri: TrackingUri = None,
    json_out: JsonOut = False,
    dry_run: DryRun = False,
) -> None:
    """Set the description of a registered model or one of its versions."""
    from registry_tools import operations

    change = operations.describe(
        name, text, version=version, dry_run=dry_run, tracking_uri=tracking_uri
    )
    _render(change.to_dict(), render.tag_lines(change), json_out)


@alias_app.command("set")
def alias_set(
    name: str,
    alias: str,
    version: str,
    tracking_uri: TrackingUri = None,
    json_out: JsonOut = False,
    dry_run: DryRun = False,
) -> None:
    """Point ALIAS at VERSION (locked and written to the audit trail)."""
    from registry_tools import operations

    change = operations.set_alias(name, alias, version, dry_run=dry_run, tracking_uri=tracking_uri)
    _render(change.to_dict(), render.alias_lines(change), json_out)


@alias_app.command("rm")
def alias_rm(
    name: str,
    alias: str,
    tracking_uri: TrackingUri = None,
    json_out: JsonOut = False,
    dry_run: DryRun = False,
) -> None:
    """Remove ALIAS (written to the audit trail, so rollback can restore it)."""
    from registry_tools import operations

    change = operations.remove_alias(name, alias, dry_run=dry_run, tracking_uri=tracking_uri)
    _render(change.to_dict(), render.alias_lines(change), json_out)


def _render(data: dict[str, object], lines: list[str], json_out: bool) -> None:
    if json_out:
        render.print_json(data)
    else:
        _lines(lines)


@app.command()
def promote(
    name: str,
    gate: Annotated[
        list[str],
        typer.Option(
            "--gate", "-g", help="METRIC OP NUMBER or METRIC OP ALIAS.METRIC (repeatable)."
        ),
    ],
    from_alias: Annotated[
        str | None, typer.Option("--from", help="Candidate: holder of this alias.")
    ] = None,
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="Candidate: this version.")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Alias to move.")] = None,
    stage: Stage = None,
    evaluate: Annotated[
        Path | None, typer.Option("--evaluate", help="CSV to score candidate and holders on first.")
    ] = None,
    target: Annotated[
        str, typer.Option("--target", help="Label column of --evaluate data.")
    ] = "target",
    model_type: Annotated[
        Literal["classifier", "regressor"] | None,
        typer.Option(
            "--model-type",
            help="How --evaluate scores the models (default: what the model says it is).",
        ),
    ] = None,
    expect_version: Annotated[
        str | None,
        typer.Option(
            "--expect-version", help="Refuse unless the --to alias is held by this version."
        ),
    ] = None,
    tracking_uri: TrackingUri = None,
    json_out: JsonOut = False,
    dry_run: DryRun = False,
) -> None:
    """Move an alias to a candidate if every gate passes; audited, race-safe."""
    from registry_tools import operations

    request = operations.PromotionRequest(
        name=name,
        to_alias=to,
        gates=list(gate),
        from_alias=from_alias,
        version=version,
        evaluate=evaluate,
        target=target,
        expect_version=expect_version,
        stage=stage,
        model_type=model_type,
    )
    result = operations.promote(request, dry_run=dry_run, tracking_uri=tracking_uri)
    _notes(result.notes)
    if json_out:
        render.print_json(result.to_dict())
    else:
        out = render.console()
        out.print(render.gate_table(render.promotion_title(result), result.plan.results))
        _lines(render.promotion_lines(result))
    refusal = result.refusal()
    if refusal is not None:
        raise refusal


@app.command()
def rollback(
    name: str,
    alias: Annotated[str | None, typer.Option("--alias", help="Alias to roll back.")] = None,
    stage: Stage = None,
    tracking_uri: TrackingUri = None,
    json_out: JsonOut = False,
    dry_run: DryRun = False,
) -> None:
    """Move an alias back to its previous holder, as recorded in the audit trail."""
    from registry_tools import operations

    result = operations.rollback(
        name, alias=alias, stage=stage, dry_run=dry_run, tracking_uri=tracking_uri
    )
    _notes(result.notes)
    _render(result.to_dict(), render.rollback_lines(result), json_out)
