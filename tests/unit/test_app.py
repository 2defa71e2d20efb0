"""The root ``mlharness`` command: lazy mounting, help, errors and exit codes."""

from __future__ import annotations

import pytest

from harness.app import COMMANDS, load_command, main
from harness.kernel.errors import ExitCode, MlharnessError, ParamError
from registry_tools.errors import GateError
from tests.support.paths import REPO

TINY = REPO / "tests" / "functional" / "harness" / "tiny"


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
