"""The root ``mlharness`` command: lazy mounting, help, errors and exit codes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from harness.app import COMMANDS, load_command, main
from harness.kernel.errors import ExitCode, MlharnessError, ParamError
from registry_tools.errors import GateError
from tests.support.paths import MLHARNESS, REPO
from tests.support.servers import free_port

TINY = REPO / "tests" / "functional" / "harness" / "tiny"


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


def test_a_real_command_maps_its_error_to_one_line_and_its_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The real `run` command, in-process: the -P parser's AssignmentError (exit 2).
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(TINY), "-P", "novalue", "-P", "=1", "--dry-run"])
    assert exit_info.value.code == ExitCode.BAD_INPUT
    assert capsys.readouterr().err == (
        "error: -P 'novalue' is not KEY=VALUE; -P '=1' is not KEY=VALUE\n"
    )


def test_an_unreachable_store_is_one_line_exit_5() -> None:
    # The real `show` command against a closed port: the boundary's ExternalServiceError.
    uri = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run(
        [MLHARNESS, "show", "0" * 32, "--tracking-uri", uri],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"},
    )
    assert done.returncode == ExitCode.EXTERNAL, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert uri in lines[0]


# mlflow made unimportable: the real `run` command then meets an exception nobody converts
# (a broken installation is not bad input; it is what exit 70 is for).
_BROKEN_MLFLOW = """
import sys
sys.modules["mlflow"] = None
from harness.app import main
main(sys.argv[1:])
"""


def _run_without_mlflow(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _BROKEN_MLFLOW, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_unexpected_exception_in_a_real_command_is_one_line_exit_70() -> None:
    done = _run_without_mlflow("run", str(TINY), "--dry-run")
    assert done.returncode == ExitCode.INTERNAL == 70, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("internal error: ModuleNotFoundError: No module named 'mlflow")
    assert lines[0].endswith("; run with --debug for the traceback")


def test_debug_shows_the_traceback() -> None:
    done = _run_without_mlflow("--debug", "run", str(TINY), "--dry-run")
    assert "Traceback (most recent call last)" in done.stderr
    assert "ModuleNotFoundError: No module named 'mlflow" in done.stderr
    assert "internal error" not in done.stderr
    # An error raised on purpose, too: the traceback instead of the one line.
    bad = subprocess.run(
        [MLHARNESS, "--debug", "run", str(TINY), "-P", "novalue"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback (most recent call last)" in bad.stderr
    assert "AssignmentError: -P 'novalue' is not KEY=VALUE" in bad.stderr


def _command_paths() -> list[list[str]]:
    """Every command and subcommand the root mounts, as the words a user types."""
    paths: list[list[str]] = [[]]

    def walk(path: list[str], command: object) -> None:
        paths.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk([*path, name], sub)

    for name, mount in COMMANDS.items():
        walk([name], load_command(mount.target))
    return paths


def test_no_help_shows_bool_after_a_flag(capsys: pytest.CaptureFixture[str]) -> None:
    paths = _command_paths()
    assert ["run"] in paths and ["registry", "promote"] in paths and len(paths) > 10
    flags_seen = 0
    for path in paths:
        with pytest.raises(SystemExit) as exit_info:
            main([*path, "--help"])
        out = capsys.readouterr().out
        assert exit_info.value.code == 0, path
        assert "<bool>" not in out and "BOOLEAN" not in out, (path, out)
        flags_seen += out.count("--json") + out.count("--dry-run") + out.count("--debug")
    assert flags_seen > 10  # the flags were there to be shown


def test_new_refuses_tracking_uri_it_would_ignore(capsys: pytest.CaptureFixture[str]) -> None:
    """``new`` never contacts a tracking store: an option it would accept and ignore is
    not offered (typer refuses it, exit 2) and its help does not mention one."""
    with pytest.raises(SystemExit) as exit_info:
        main(["new", "--help"])
    assert exit_info.value.code == 0
    assert "tracking" not in capsys.readouterr().out.lower()
    with pytest.raises(SystemExit) as exit_info:
        main(["new", "--no-input", "--dry-run", "--tracking-uri", "sqlite:///x.db"])
    assert exit_info.value.code == ExitCode.BAD_INPUT
    assert "No such option: --tracking-uri" in capsys.readouterr().err
