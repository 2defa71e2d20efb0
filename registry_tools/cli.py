"""``mlharness registry ...``: versions, tags, aliases, gated promotion and rollback.

Mounted lazily by ``harness/app.py`` as ``registry_tools.cli:app``. Every command takes
``--tracking-uri`` and ``--json``; every command that changes state takes ``--dry-run``.
Errors are raised as mlharness errors and turned into ``error: ...`` and an exit code by
the root app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from registry_tools import render

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
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show the plan; change nothing.")]
Stage = Annotated[
    str | None,
    typer.Option(
        "--stage", help="Deprecated stages: Staging|Production -> alias, Archived -> tag."
    ),
]


def _registry(tracking_uri: str | None):  # type: ignore[no-untyped-def]
    from registry_tools.client import Registry

    return Registry(tracking_uri)


def _note(text: str) -> None:
    render.console(stderr=True).print(text, style="yellow")


def _alias_or_stage(alias: str | None, stage: str | None, option: str) -> str:
    """The alias an option names, or the one a deprecated ``--stage`` maps to (with a note)."""
    from registry_tools import stages
    from registry_tools.errors import RegistryError

    if stage is not None:
        _note(stages.stage_target(stage).note)
        alias = alias or stages.stage_alias(stage)
    if alias is None:
        raise RegistryError(f"give {option} ALIAS (or --stage Staging|Production)")
    return alias


def _plan(lines: list[str], dry_run: bool) -> None:
    out = render.console()
    for line in lines:
        out.print(f"{'would ' if dry_run else ''}{line}")


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
    json: Json = False,
    dry_run: DryRun = False,
) -> None:
    """Register a model version (idempotent) and wait until it is READY."""
    from registry_tools import aliases, stages, tags, versions

    pairs = tags.parse_pairs(tag or [])
    if stage is not None:
        target = stages.stage_target(stage)
        _note(target.note)
        if target.tag is not None:
            pairs[target.tag[0]] = target.tag[1]
        alias = target.alias or alias
    registry = _registry(tracking_uri)
    result = versions.register(
        registry,
        source,
        name,
        tags=pairs,
        description=description,
        dry_run=dry_run,
        timeout_s=timeout,
    )
    plan = list(result.plan)
    change = None
    if alias is not None:
        if result.version is None:
            plan.append(f"set alias {alias!r} to the new version")
        else:
            change = aliases.set_alias(
                registry, name, alias, result.version.version, dry_run=dry_run
            )
            if change.changed:
                plan.append(f"set alias {alias!r} to version {result.version.version}")
            result = versions.Registration(
                result.name,
                result.source,
                result.created,
                result.version if dry_run else versions.get(registry, name, result.version.version),
                dry_run,
                plan,
            )
    if json:
        data = result.to_dict()
        data["plan"] = plan
        data["alias"] = change.to_dict() if change else None
        render.print_json(data)
        return
    _plan(plan, dry_run)
    if result.version is not None and not dry_run:
        v = result.version
        render.console().print(
            f"{'registered' if result.created else 'already registered'}: {v.name} version "
            f"{v.version} ({v.status}) from run {v.run_id}"
            + (f", aliases {', '.join(v.aliases)}" if v.aliases else "")
        )


@app.command("list")
def list_command(tracking_uri: TrackingUri = None, json: Json = False) -> None:
    """List registered models with their versions and aliases."""
    from registry_tools import catalog

    models = catalog.list_models(_registry(tracking_uri))
    if json:
        render.print_json([m.to_dict() for m in models])
    else:
        render.console().print(render.models_table(m.row() for m in models))


@app.command()
def show(
    name: str,
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="Only this version.")
    ] = None,
    stage: Stage = None,
    tracking_uri: TrackingUri = None,
    json: Json = False,
) -> None:
    """Show versions with aliases, tags, run metrics/params and manifest lineage."""
    from registry_tools import catalog, stages

    if stage is not None:
        _note(stages.stage_target(stage).note)
    view = catalog.show(_registry(tracking_uri), name, version, stage)
    if json:
        render.print_json(view.to_dict())
        return
    out = render.console()
    if version is not None:
        for row in view.versions:
            out.print(render.lineage_table(row))
    else:
        out.print(render.versions_table(name, view.versions))
    if view.audit:
        out.print(render.audit_table(name, view.audit))


@tag_app.command("set")
def tag_set(
    name: str,
    version: str,
    pairs: Annotated[list[str], typer.Argument(help="KEY=VALUE ...")],
    tracking_uri: TrackingUri = None,
    json: Json = False,
    dry_run: DryRun = False,
) -> None:
    """Set tags on a model version."""
    from registry_tools import tags

    change = tags.set_tags(
        _registry(tracking_uri), name, version, tags.parse_pairs(pairs), dry_run=dry_run
    )
    _report(
        change.to_dict(),
        json,
        [f"set tag {k}={v} on {name} version {version}" for k, v in change.set.items()],
        dry_run,
    )


@tag_app.command("rm")
def tag_rm(
    name: str,
    version: str,
    keys: Annotated[list[str], typer.Argument(help="KEY ...")],
    tracking_uri: TrackingUri = None,
    json: Json = False,
    dry_run: DryRun = False,
) -> None:
    """Remove tags from a model version."""
    from registry_tools import tags

    change = tags.remove_tags(_registry(tracking_uri), name, version, keys, dry_run=dry_run)
    _report(
        change.to_dict(),
        json,
        [f"remove tag {k} from {name} version {version}" for k in change.removed],
        dry_run,
    )


@app.command()
def describe(
    name: str,
    text: Annotated[str, typer.Argument(help="The new description.")],
    version: Annotated[
        str | None,
        typer.Option("--version", "-v", help="A version (default: the registered model)."),
    ] = None,
    tracking_uri: TrackingUri = None,
    json: Json = False,
    dry_run: DryRun = False,
) -> None:
    """Set the description of a registered model or one of its versions."""
    from registry_tools import tags

    change = tags.describe(_registry(tracking_uri), name, version, text, dry_run=dry_run)
    where = f"{name} version {version}" if version else name
    _report(change.to_dict(), json, [f"describe {where}: {text}"], dry_run)


@alias_app.command("set")
def alias_set(
    name: str,
    alias: str,
    version: str,
    tracking_uri: TrackingUri = None,
    json: Json = False,
    dry_run: DryRun = False,
) -> None:
    """Point ALIAS at VERSION (locked and written to the audit trail)."""
    from registry_tools import aliases

    change = aliases.set_alias(_registry(tracking_uri), name, alias, version, dry_run=dry_run)
    line = (
        (f"set alias {alias} of {name} to version {version} (was {change.previous or 'unset'})")
        if change.changed
        else (f"alias {alias} of {name} already points at version {version}")
    )
    _report(change.to_dict(), json, [line], dry_run and change.changed)


@alias_app.command("rm")
def alias_rm(
    name: str,
    alias: str,
    tracking_uri: TrackingUri = None,
    json: Json = False,
    dry_run: DryRun = False,
) -> None:
    """Remove ALIAS (written to the audit trail, so rollback can restore it)."""
    from registry_tools import aliases

    change = aliases.remove_alias(_registry(tracking_uri), name, alias, dry_run=dry_run)
    _report(
        change.to_dict(),
        json,
        [f"remove alias {alias} of {name} (was version {change.previous})"],
        dry_run,
    )


def _report(data: dict[str, object], json: bool, lines: list[str], dry_run: bool) -> None:
    if json:
        render.print_json(data)
    else:
        _plan(lines, dry_run)


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
    expect_version: Annotated[
        str | None,
        typer.Option(
            "--expect-version", help="Refuse unless the --to alias is held by this version."
        ),
    ] = None,
    tracking_uri: TrackingUri = None,
    json: Json = False,
    dry_run: DryRun = False,
) -> None:
    """Move an alias to a candidate if every gate passes; audited, race-safe."""
    from registry_tools import promote as promotion

    to = _alias_or_stage(to, stage, "--to")
    registry = _registry(tracking_uri)
    request = promotion.PromotionRequest(
        name=name,
        to_alias=to,
        gates=list(gate),
        from_alias=from_alias,
        version=version,
        evaluate=evaluate,
        target=target,
        expect_version=expect_version,
    )
    decided = promotion.plan(registry, request)
    record = None
    if decided.passed and not decided.noop and not dry_run:
        record = promotion.apply(registry, decided)
    if json:
        result = promotion.Promotion(decided, record is not None, record)
        render.print_json({**result.to_dict(), "dry_run": dry_run})
    else:
        out = render.console()
        out.print(
            render.gate_table(
                f"promote {name} version {decided.candidate} to {to} "
                f"(now: {'version ' + decided.current if decided.current else 'unset'})",
                decided.results,
            )
        )
        if decided.noop:
            out.print(f"version {decided.candidate} already holds {to}; nothing to do")
        elif decided.passed:
            out.print(
                f"{'would move' if dry_run else 'moved'} {to} of {name}: "
                f"{decided.current or 'unset'} -> {decided.candidate}"
                + (f" (audit seq {record.seq})" if record else "")
            )
    if not decided.passed:
        raise promotion.gate_failure(decided)


@app.command()
def rollback(
    name: str,
    alias: Annotated[str | None, typer.Option("--alias", help="Alias to roll back.")] = None,
    stage: Stage = None,
    tracking_uri: TrackingUri = None,
    json: Json = False,
    dry_run: DryRun = False,
) -> None:
    """Move an alias back to its previous holder, as recorded in the audit trail."""
    from registry_tools.rollback import rollback as roll_back

    alias = _alias_or_stage(alias, stage, "--alias")
    result = roll_back(_registry(tracking_uri), name, alias, dry_run=dry_run)
    _report(
        result.to_dict(),
        json,
        [f"roll back {alias} of {name}: version {result.current} -> {result.target}"],
        dry_run,
    )
