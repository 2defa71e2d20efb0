"""The root ``mlharness`` command.

Command groups live in each package's own ``cli.py`` and are mounted lazily by import
string, so ``mlharness --help`` imports neither mlflow, torch nor airflow, and the layer
rule (``harness`` imports none of the other packages) holds: the root only knows their
import strings. Typer 0.29 ships its own click (``typer._click``), so the root group is
a ``TyperGroup`` and every mounted command is a Typer app or command.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import typer
import typer.main
from typer import _click  # the click that typer's commands are built on
from typer.core import TyperCommand, TyperGroup, TyperOption

from harness import __version__
from harness.kernel.errors import ExitCode, MlharnessError

__all__ = ["COMMANDS", "EXIT_CODES", "Mount", "app", "main", "run_cli"]


@dataclass(frozen=True)
class Mount:
    """Where a command lives (``module:attribute``) and its one-line help."""

    target: str
    help: str


# Name -> lazily imported command. Order is the order shown by --help.
COMMANDS: dict[str, Mount] = {
    "run": Mount(
        "harness.run.cli:run_command", "Run a project reproducibly (local path or Git URL)."
    ),
    "show": Mount("harness.run.cli:show_command", "Print the manifest of a run."),
    "replay": Mount("harness.run.cli:replay_command", "Re-execute a run from its manifest."),
    "verify": Mount(
        "harness.run.cli:verify_command", "Replay a run and compare it with the original."
    ),
    "new": Mount(
        "harness.scaffold.cli:new_command", "Create a new MLflow project from a template."
    ),
    "sweep": Mount("harness.sweep.cli:sweep_command", "Parallel, resumable parameter sweeps."),
    "registry": Mount("registry_tools.cli:app", "Model Registry: versions, aliases, promotion."),
    "monitor": Mount("monitoring.cli:app", "Drift profiles, drift reports and monitoring."),
    "serve": Mount(
        "orchestration.serving.cli:serve_command",
        "Serve a registered model: MLflow's protocol, batching, /metrics, hot reload.",
    ),
    "config": Mount("harness.config.cli:app", "Pipeline config: JSON Schema and checks."),
    "airflow": Mount(
        "orchestration.pipelines.cli:app", "Render Airflow 3 pipelines and their stack."
    ),
    "up": Mount(
        "orchestration.local_stack.cli:up_command",
        "Run a pipeline's whole stack on this machine, without Docker.",
    ),
    "down": Mount("orchestration.local_stack.cli:down_command", "Stop a stack started by up."),
    "status": Mount(
        "orchestration.local_stack.cli:status_command",
        "Show a stack's services: pid, address, health, log, URLs.",
    ),
}

EXIT_CODES: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.DIFFERENT: "a check found a difference, or a run failed",
    ExitCode.BAD_INPUT: "bad input: usage, parameters, config, missing source",
    ExitCode.GATE_FAILED: "a promotion gate failed",
    ExitCode.DRIFT: "drift detected",
    ExitCode.EXTERNAL: "an external service failed after retries",
    ExitCode.INTERNAL: "internal error (a bug): run with --debug for the traceback",
}


class _Session:
    """Process-wide options the root callback sets before any command runs."""

    debug = False


def _flags_show_no_type(option: TyperOption, ctx: _click.Context) -> str | None:
    """Typer 0.29 prints ``<bool>`` after every flag in ``--help``; flags take no value."""
    if option.is_flag and not option.count:
        return None
    return _typer_display_type_rich(option, ctx)


_typer_display_type_rich = TyperOption.display_type_rich
TyperOption.display_type_rich = _flags_show_no_type  # type: ignore[method-assign,assignment]


def load_command(target: str) -> _click.Command:
    """Import ``module:attribute`` and return it as a command (Typer app, command or function)."""
    module_name, _, attribute = target.partition(":")
    obj: Any = getattr(importlib.import_module(module_name), attribute)
    if isinstance(obj, _click.Command):
        return obj
    if isinstance(obj, typer.Typer):
        return typer.main.get_command(obj)
    if callable(obj):  # a plain function with typer annotations
        single = typer.Typer(add_completion=False)
        single.command()(obj)
        return typer.main.get_command(single)
    raise TypeError(f"{target} is not a command")


class LazyGroup(TyperGroup):
    """A group that lists its commands from ``COMMANDS`` and imports one only to run it."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        # Placeholders carry the help text, so --help needs no imports.
        for name, mount in COMMANDS.items():
            self.commands[name] = TyperCommand(name=name, help=mount.help, short_help=mount.help)

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        name = args[0] if args else None
        if name in COMMANDS:
            command = load_command(COMMANDS[name].target)
            command.name = name
            if not command.help:
                command.help = COMMANDS[name].help
            return name, command, args[1:]
        return super().resolve_command(ctx, args)


def _epilog() -> str:
    lines = [f"{int(code)}: {text}" for code, text in EXIT_CODES.items()]
    return "Exit codes: " + " | ".join(lines)


app = typer.Typer(
    cls=LazyGroup,
    name="mlharness",
    epilog=_epilog(),
    add_completion=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"mlharness {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: bool = typer.Option(
        False, "--debug", help="Show the full traceback when a command fails."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """mlharness: run MLflow Projects reproducibly, promote models by evidence, and generate
    their pipelines and monitoring."""
    _Session.debug = debug


def run_cli(command: Callable[..., Any], args: list[str], prog_name: str) -> int:
    """Run a typer/click command; map an ``MlharnessError`` to one line and its exit code.

    Usage errors are reported by typer itself (exit 2, which is our BAD_INPUT too). Any
    other exception is a bug: one ``internal error`` line and exit 70, or the traceback
    with the root ``--debug`` option.
    """
    _Session.debug = False
    try:
        command(args=args, prog_name=prog_name, standalone_mode=True)
    except MlharnessError as exc:
        if _Session.debug:
            raise
        typer.echo(f"error: {exc.one_line()}", err=True)
        return int(exc.exit_code)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except Exception as exc:
        if _Session.debug:
            raise
        what = str(exc).strip().splitlines()
        detail = f"{type(exc).__name__}: {what[0]}" if what else type(exc).__name__
        typer.echo(f"internal error: {detail}; run with --debug for the traceback", err=True)
        return int(ExitCode.INTERNAL)
    return 0


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    args = list(sys.argv[1:] if argv is None else argv)
    sys.exit(run_cli(typer.main.get_command(app), args, "mlharness"))


if __name__ == "__main__":
    main()
