"""The root ``mlharness`` command: lazy mounting, help, errors and exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.app import COMMANDS, main
from harness.kernel.errors import ExitCode, MlharnessError, ParamError
from registry_tools.errors import GateError
from tests.support.paths import MLHARNESS


def test_help_lists_command_groups_and_exit_codes() -> None:
    done = subprocess.run([MLHARNESS, "--help"], capture_output=True, text=True, check=True)
    assert "Commands" in done.stdout and "Exit codes" in done.stdout
    panel = done.stdout.split("Commands")[1].split("Exit codes")[0]
    listed = {line.strip("│ ").split()[0] for line in panel.splitlines() if line.startswith("│")}
    assert {"run", "show", "replay", "verify", "new", "registry", "monitor"} <= listed


def test_help_does_not_import_heavy_libraries() -> None:
    probe = (
        "import sys; from harness.app import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('mlflow', 'torch', 'airflow', 'sklearn') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "HEAVY=\n" in done.stdout, done.stdout


def test_unknown_command_is_bad_input() -> None:
    done = subprocess.run([MLHARNESS, "no-such-command"], capture_output=True, text=True)
    assert done.returncode == ExitCode.BAD_INPUT
    assert "No such command" in done.stderr


def test_errors_carry_their_exit_codes() -> None:
    assert ParamError(["a: bad", "b: bad"]).exit_code == ExitCode.BAD_INPUT
    assert "a: bad; b: bad" in ParamError(["a: bad", "b: bad"]).one_line()
    assert GateError("gate").exit_code == ExitCode.GATE_FAILED
    assert MlharnessError("what", hint="how").one_line() == "what (how)"


def _single(function: object) -> object:
    import typer

    app = typer.Typer()
    app.command()(function)
    return app


def test_main_prints_one_line_and_exits_with_the_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import typer

    def failing() -> None:
        raise GateError("gate accuracy>=0.99 failed", hint="candidate has 0.95")

    monkeypatch.setitem(COMMANDS, "failing", COMMANDS["run"])
    monkeypatch.setattr(
        "harness.app.load_command", lambda target: typer.main.get_command(_single(failing))
    )
    with pytest.raises(SystemExit) as exit_info:
        main(["failing"])
    assert exit_info.value.code == ExitCode.GATE_FAILED
    err = capsys.readouterr().err
    assert err == "error: gate accuracy>=0.99 failed (candidate has 0.95)\n"
