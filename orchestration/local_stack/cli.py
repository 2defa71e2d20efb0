"""``mlharness up``, ``down`` and ``status``: parse options, call one operation, print."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from harness.kernel.errors import ConfigError, ExitCode
from harness.kernel.jsonout import print_json

__all__ = ["down_command", "status_command", "up_command"]

StateDir = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="The stack's state directory (default: .mlharness/stack/<name>).",
        show_default=False,
    ),
]


class Executor(StrEnum):
    """Airflow's executor."""

    local = "local"
    celery = "celery"


def _say(line: str) -> None:
    typer.echo(line, err=True)


def _print_status(status: object) -> None:
    from orchestration.local_stack.operations import StackStatus

    assert isinstance(status, StackStatus)
    typer.echo(
        f"stack {status.stack} ({status.phase}, {status.executor} executor): {status.state_dir}"
    )
    width = max([len(s["name"]) for s in status.services] + [7])
    for service in status.services:
        pid = service["pid"] or "-"
        address = service["address"] or "-"
        typer.echo(
            f"  {service['name']:<{width}}  {service['health']:<9}  pid {pid!s:<7}  "
            f"{address:<16}  {service['log']}"
        )
    if status.urls:
        typer.echo("open:")
        for label, url in status.urls.items():
            typer.echo(f"  {label:<12} {url}")
    if status.admin:
        typer.echo(
            f"airflow login: {status.admin.get('user')} / the password in "
            f"{status.admin.get('password_file')}"
        )
    typer.echo(f"grafana: {status.grafana}")
    if status.message:
        typer.echo(f"last error: {status.message}")


def up_command(
    config: Annotated[Path, typer.Argument(help="Pipeline config (YAML).", show_default=False)],
    state_dir: StateDir = None,
    executor: Annotated[
        Executor, typer.Option(help="local: LocalExecutor; celery: Redis and Celery workers.")
    ] = Executor.local,
    celery_workers: Annotated[
        int, typer.Option("--celery-workers", help="Celery workers (with --executor celery).")
    ] = 2,
    detach: Annotated[
        bool, typer.Option("--detach", help="Run in the background; return once healthy.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and print the plan; start nothing.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Start the pipeline's whole stack on this machine (PostgreSQL, MLflow, Airflow, the
    scoring server, Prometheus, Alertmanager, blackbox, Pushgateway); Ctrl-C stops it."""
    from orchestration.local_stack.operations import UpRequest, up

    request = UpRequest(config, state_dir, executor.value, celery_workers, detach, dry_run)
    try:
        result = up(request, say=_say, on_ready=_print_status)
    except ConfigError as exc:
        if not json_out:
            raise  # one line: every problem with its key path, exit 2
        print_json({"file": exc.source, "ok": False, "problems": exc.problems})
        raise typer.Exit(int(ExitCode.BAD_INPUT)) from None
    if json_out:
        print_json(result.to_dict())
        return
    if result.dry_run:
        for service in result.plan:
            after = ", ".join(f"{k} {v}" for k, v in dict(service["depends_on"]).items())  # type: ignore[call-overload]
            typer.echo(
                f"would start {service['name']} (port {service['port'] or '-'})"
                + (f" after {after}" if after else "")
            )
        return
    if result.detached and result.status is not None:
        _print_status(result.status)
        return
    typer.echo("stopped", err=True)


def down_command(
    state_dir: StateDir = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Stop every process of the stack; its data stays for the next up."""
    from orchestration.local_stack.operations import down

    result = down(state_dir)
    if json_out:
        print_json(result.to_dict())
        return
    if result.was_running:
        typer.echo(f"stopped the stack in {result.state_dir}")
    else:
        typer.echo(f"the stack in {result.state_dir} was not running")
    if result.stopped:
        typer.echo(f"stopped what its supervisor left: {', '.join(result.stopped)}")


def status_command(
    state_dir: StateDir = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Each service's pid, address, health and log, and the URLs to open (exit 1 unless
    the stack runs and every service is healthy)."""
    from orchestration.local_stack.operations import status

    result = status(state_dir)
    if json_out:
        print_json(result.to_dict())
    else:
        _print_status(result)
    if not result.healthy:
        raise typer.Exit(int(ExitCode.DIFFERENT))
