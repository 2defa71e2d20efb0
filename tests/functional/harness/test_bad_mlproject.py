"""An MLproject that is not what ``mlharness run`` expects: one line, exit 2, nothing written.

Each case is fed through the real CLI (a subprocess, as a user types it). Before the
schema check each of these ended in MLflow's ``AttributeError`` (exit 70) or ran a
parameter of an unknown type as a string.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.harness_cli import TINY, mlharness

pytestmark = pytest.mark.functional

# name -> (MLproject bytes, what the one error line must say)
CASES: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "the file is empty"),
    "blank": (b"\n   \n# only a comment\n", "the file is empty"),
    "truncated": (
        b"name: tiny\nentry_points:\n  main:\n    parameters:\n"
        b'      s: {type: string, default: "he',
        "not valid YAML: found unexpected end of stream at line 5",
    ),
    "yaml_garbage": (b"name: [unclosed\n: : :\n", "not valid YAML"),
    "top_level_list": (b"- main\n- other\n", "(top level): expected a mapping, got list"),
    "entry_points_list": (
        b"name: t\nentry_points:\n  - main\n",
        "entry_points: Input should be a valid dictionary",
    ),
    "entry_point_empty": (
        b"name: t\nentry_points:\n  main:\n",
        "entry_points.main: expected {parameters: ..., command: ...}, got NoneType",
    ),
    "no_command": (
        b"name: t\nentry_points:\n  main:\n    parameters: {x: int}\n",
        "entry_points.main.command: Field required",
    ),
    "parameters_list": (
        b"name: t\nentry_points:\n  main:\n    parameters: [a, b]\n    command: python tiny.py\n",
        "entry_points.main.parameters: Input should be a valid dictionary",
    ),
    "unknown_type": (
        b"name: t\nentry_points:\n  main:\n    parameters:\n      x: {type: banana, default: 1}\n"
        b"    command: python tiny.py\n",
        "entry_points.main.parameters.x.type: Input should be 'string', 'float', 'int', 'path'",
    ),
    "parameter_number": (
        b"name: t\nentry_points:\n  main:\n    parameters:\n      x: 5\n"
        b"    command: python tiny.py\n",
        "entry_points.main.parameters.x: expected {type: ..., default: ...} or a type name",
    ),
    "misspelt_default": (
        b"name: t\nentry_points:\n  main:\n    parameters:\n      x: {type: int, defualt: 1}\n"
        b"    command: python tiny.py\n",
        "entry_points.main.parameters.x.defualt: Extra inputs are not permitted",
    ),
    "python_env_number": (
        b"name: t\npython_env: 5\nentry_points:\n  main:\n    command: python tiny.py\n",
        "python_env: Input should be a valid string",
    ),
    "default_list": (
        b"name: t\nentry_points:\n  main:\n    parameters:\n      x: {type: int, default: [1]}\n"
        b"    command: python tiny.py {x}\n",
        "entry_points.main.parameters.x.default: expected a single value",
    ),
    "null_parameters": (
        b"name: t\nentry_points:\n  main:\n    parameters:\n    command: python tiny.py\n",
        "entry_points.main.parameters: Input should be a valid dictionary",
    ),
    "undeclared_placeholder": (
        b"name: t\nentry_points:\n  main:\n    command: python tiny.py {y}\n",
        "entry_points.main: command: placeholder {y} is not a declared parameter",
    ),
    "unbalanced_brace": (
        b"name: t\nentry_points:\n  main:\n    command: python tiny.py {\n",
        "entry_points.main: command: Single '{' encountered in format string",
    ),
    "garbage_bytes": (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe binary", "not UTF-8 text"),
    "nul_bytes": (b"name: t\n\x00\x00\x00\n", "not valid YAML: unacceptable character"),
}

# The same file read by each way of running a project.
COMMANDS = {
    "dry_run": ["--dry-run", "--json"],
    "run": ["--env-manager", "local"],
    "script": ["-e", "tiny.py", "--env-manager", "local"],
}


# Every case with --dry-run; one case of each kind (empty, wrong types, garbage, a command
# MLflow could not format) also by the two commands that would launch a run.
MATRIX = [(case, "dry_run") for case in sorted(CASES)] + [
    (case, command)
    for case in ("empty", "entry_points_list", "garbage_bytes", "undeclared_placeholder")
    for command in ("run", "script")
]


@pytest.mark.parametrize(("case", "command"), MATRIX)
def test_a_bad_mlproject_is_one_line_exit_2_and_writes_nothing(
    case: str, command: str, tmp_path: Path
) -> None:
    content, expected = CASES[case]
    project = tmp_path / "proj"
    project.mkdir()
    shutil.copy(TINY / "tiny.py", project / "tiny.py")
    (project / "MLproject").write_bytes(content)
    store = tmp_path / "store" / "mlflow.db"
    store.parent.mkdir()
    result = mlharness(
        "run",
        str(project),
        *COMMANDS[command],
        tracking_uri=f"sqlite:///{store}",
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {project / 'MLproject'}: "), lines[0]
    assert expected in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert list(store.parent.iterdir()) == []  # no tracking store was created
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj", "store"]  # no mlruns/
