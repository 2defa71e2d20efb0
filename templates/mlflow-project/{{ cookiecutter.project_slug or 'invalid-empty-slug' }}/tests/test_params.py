"""Parameter checks: the MLproject file and params.py agree, bad values stop early."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.project_slug }} import params

ROOT = Path(__file__).resolve().parent.parent


def test_parameters_match_the_mlproject_file() -> None:
    spec = yaml.safe_load((ROOT / "MLproject").read_text())
    declared = spec["entry_points"]["main"]["parameters"]
    assert list(declared) == [p.name for p in params.PARAMETERS]
    for parameter in params.PARAMETERS:
        assert str(declared[parameter.name]["default"]) == parameter.default
        assert "{" + parameter.name + "}" in spec["entry_points"]["main"]["command"]


def test_defaults_parse_and_are_logged_as_given() -> None:
    args = params.train_args([])
    assert params.loggable(args) == {p.name: p.default for p in params.PARAMETERS}


@pytest.mark.parametrize("name", [p.name for p in params.PARAMETERS])
@pytest.mark.parametrize("bad", ["-1", "abc"])
def test_a_bad_value_exits_2_with_one_line(
    name: str, bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        params.train_args(["--" + name.replace("_", "-"), bad])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: parameter {name}: ")
    assert err.count("\n") == 1


def test_an_unknown_parameter_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        params.train_args(["--no-such-thing", "1"])
    assert exc.value.code == 2
    assert "unknown parameter no-such-thing" in capsys.readouterr().err


def test_bad_input_fails_before_heavy_imports() -> None:
    code = (
        "import json, sys\n"
        "from {{ cookiecutter.project_slug }} import train\n"
        "try:\n"
        "    train.main(['--test-size', '0'])\n"
        "except SystemExit as exc:\n"
        "    heavy = ('mlflow', 'sklearn', 'torch', 'pandas')\n"
        "    print(json.dumps([exc.code, [m for m in heavy if m in sys.modules]]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert json.loads(done.stdout) == [2, []], done.stderr
