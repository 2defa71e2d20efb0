"""The root ``mlharness`` command.

Command groups live in each package's own ``cli.py`` and are mounted lazily by dotted
name, so ``mlharness --help`` imports neither mlflow, torch nor airflow, and the
layer rule (``harness`` imports none of the other packages) holds: the root only
knows their import strings.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass

import click
import typer.main

from harness import __version__
from harness.errors import ExitCode, MlharnessError


@dataclass(frozen=True)
class Mount:
    """Where a command lives (``module:attribute``) and its one-line help."""

    target: str
    help: str


# Name -> lazily imported command. Order is the order shown by --help.
COMMANDS: dict[str, Mount] = {
    "run": Mount("harness.cli:run_command", "Run a project reproducibly (local path or Git URL)."),
    "show": Mount("harness.cli:show_command", "Print the manifest of a run."),
    "replay": Mount("harness.cli:replay_command", "Re-execute a run from its manifest."),
    "verify": Mount("harness.cli:verify_command", "Replay a run and compare it with the original."),
    "new": Mount("harness.new_cli:new_command", "Create a new MLflow project from a template."),
    "registry": Mount("registry_tools.cli:app", "Model Registry: versions, aliases, promotion."),
    "monitor": Mount("monitoring.cli:app", "Drift profiles, drift reports and monitoring."),
}


def _load(target: str) -> click.Command:
    module_name, _, attribute = target.partition(":")
    obj = getattr(importlib.import_module(module_name), attribute)
    if isinstance(obj, click.Command):
        return obj
    if isinstance(obj, typer.Typer):
        return typer.main.get_command(obj)
    # A plain function decorated for typer: wrap it in a one-command Typer.
    single = typer.Typer(add_completion=False)
    single.command()(obj)
    return typer.main.get_command(single)


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when they are invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, mount in COMMANDS.items() if _importable(mount.target)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        mount = COMMANDS.get(cmd_name)
        if mount is None or not _importable(mount.target):
            return None
        command = _load(mount.target)
        command.name = cmd_name
        if not command.help:
            command.help = mount.help
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [
            (name, mount.help) for name, mount in COMMANDS.items() if _importable(mount.target)
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
        with formatter.section("Exit codes"):
            formatter.write_dl([(str(int(code)), _EXIT_HELP[code]) for code in ExitCode])


_EXIT_HELP = {
    ExitCode.OK: "success",
    ExitCode.DIFFERENT: "a check found a difference, or a run failed",
    ExitCode.BAD_INPUT: "bad input: usage, parameters, config, missing source",
    ExitCode.GATE_FAILED: "a promotion gate failed",
    ExitCode.DRIFT: "drift detected",
    ExitCode.EXTERNAL: "an external service failed after retries",
}


def _importable(target: str) -> bool:
    """True when the command's module exists, without importing it."""
    module_name = target.partition(":")[0]
    return importlib.util.find_spec(module_name) is not None


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="mlharness: run MLflow Projects reproducibly, promote models by evidence, "
    "and generate their pipelines and monitoring.",
)
@click.version_option(__version__, prog_name="mlharness")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the CLI and map errors to exit codes."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="mlharness", standalone_mode=False)
    except MlharnessError as exc:
        if debug:
            raise
        click.echo(f"error: {exc.one_line()}", err=True)
        sys.exit(int(exc.exit_code))
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(int(ExitCode.BAD_INPUT) if exc.exit_code == 2 else exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(0)


if __name__ == "__main__":
    main()
