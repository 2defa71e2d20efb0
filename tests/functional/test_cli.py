"""The ``mlharness`` command as a user runs it, in a subprocess: help, errors, exit codes.

(The unit suite calls the root app in-process; every test that spawns the CLI is here.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.kernel.errors import ConfigError, ExitCode
from harness.schemas.pipeline_config import PipelineConfig
from tests.support.airflow import example, render_to, write_config
from tests.support.paths import MLHARNESS, REPO
from tests.support.servers import free_port

pytestmark = pytest.mark.functional

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


def test_the_console_script_skips_the_final_garbage_collection() -> None:
    # entry.main freezes the heap in its last exit handler: the interpreter's final
    # collection (0.5-0.9 CPU-s once MLflow is imported) then has nothing to scan. A handler
    # registered before main runs after it and sees the heap frozen, on success and error.
    for args in (["--help"], ["no-such-command"]):
        probe = (
            "import atexit, gc, sys\n"
            "atexit.register(lambda: print('FROZEN=%d' % (gc.get_freeze_count() > 0)))\n"
            f"from harness.entry import main\nmain({args!r})\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=False
        )
        assert done.returncode == (0 if args == ["--help"] else 2), done.stderr
        assert done.stdout.strip().endswith("FROZEN=1"), done.stdout[-500:]


def test_unknown_command_is_bad_input() -> None:
    done = subprocess.run([MLHARNESS, "no-such-command"], capture_output=True, text=True)
    assert done.returncode == ExitCode.BAD_INPUT
    assert "No such command" in done.stderr


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


def test_bad_input_is_reported_at_once_and_nothing_is_rendered(tmp_path: Path) -> None:
    data = example(colour="blue", schedule="0 25 * * *", tracking_uri="http://u:secret@h")
    data["steps"][0]["params"]["max_depth2"] = 3
    data["steps"][0]["depends_on"] = ["evaluate"]
    data["steps"][1]["entry_point"] = "nope"
    data["promotion"]["gates"] = ["accuracy >> 0.9"]
    data["steps"].append({"name": "notify"})
    config = write_config(tmp_path, data)
    done = subprocess.run(
        [MLHARNESS, "airflow", "render", str(config), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    for needle in (
        "colour: Extra inputs are not permitted",
        "schedule: '0 25 * * *' is not a valid cron expression",
        "tracking_uri: URL holds a literal password",
        "steps[0].params.max_depth2: unknown parameter (did you mean 'max_depth'?)",
        "steps: depends_on has a cycle",
        "steps[1].entry_point: unknown entry point 'nope'",
    ):
        assert needle in done.stderr, done.stderr
    assert "nothing rendered" in done.stderr
    assert not (tmp_path / "out").exists()
    # Problems only the renderer checks: gate syntax and reserved task ids.
    clean = example()
    clean["promotion"]["gates"] = ["accuracy >> 0.9"]
    clean["steps"].append({"name": "notify"})
    with pytest.raises(ConfigError) as caught:
        render_to(write_config(tmp_path, clean), tmp_path / "out")
    assert any(p.startswith("promotion.gates[0]: malformed gate") for p in caught.value.problems)
    assert any(p.startswith("steps[2].name: 'notify' is a task") for p in caught.value.problems)
    assert not (tmp_path / "out").exists()


def test_bad_options_exit_2_in_one_line() -> None:
    done = subprocess.run(
        [MLHARNESS, "serve", "models:/rf", "--port", "0", "--workers", "0", "--dry-run"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: invalid parameters:")
    assert "--workers" in done.stderr and "--port" in done.stderr
    assert "Traceback" not in done.stderr


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MLHARNESS, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_every_problem_is_reported_at_once_with_key_paths(tmp_path: Path) -> None:
    data = example(
        colour="blue",
        schedule="61 * * * *",
        tracking_uri="postgresql://u:pw@h/db",
        **{"monitoring.drift.schedule": "@fortnightly", "monitoring.alerts.api_token": "abc"},
    )
    data["steps"][0]["params"] = {"max_depth2": 3, "n_estimators": [1, 2]}
    data["steps"][0]["depends_on"] = ["evaluate"]
    data["steps"][1]["entry_point"] = "evalute"
    data["steps"][1]["depends_on"] = ["trian"]
    config = write_config(tmp_path, data)

    done = _cli("config", "check", str(config), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line.strip() for line in done.stderr.splitlines()[1:]]
    expected = {
        "colour: Extra inputs are not permitted",
        "monitoring.alerts.api_token: Extra inputs are not permitted",
        # A value of the wrong type is one line, not one per branch of the union.
        "steps[0].params.n_estimators: expected a string, number or boolean, got list",
        "steps[0].params.max_depth2: unknown parameter (did you mean 'max_depth'?)",
        "steps[1].entry_point: unknown entry point 'evalute' (did you mean 'evaluate'?)",
        "steps[1].depends_on[0]: unknown step 'trian' (did you mean 'train'?)",
        "schedule: '61 * * * *' is not a valid cron expression (5 fields: min hour day month dow)",
    }
    assert expected <= set(lines), done.stderr
    assert sum("n_estimators" in line for line in lines) == 1
    assert any(line.startswith("tracking_uri: URL holds a literal password") for line in lines)
    assert any(line.startswith("monitoring.alerts.api_token: literal secret") for line in lines)
    assert any(
        line.startswith("monitoring.drift.schedule: unknown schedule preset") for line in lines
    )
    assert "train -> evaluate -> train" in done.stderr or "evaluate -> train -> evaluate" in (
        done.stderr
    )

    as_json = _cli("config", "check", str(config), "--json", cwd=tmp_path)
    assert as_json.returncode == 2
    document = json.loads(as_json.stdout)
    assert document["ok"] is False and set(expected) <= set(document["problems"])


def test_schema_is_the_models_json_schema(tmp_path: Path) -> None:
    done = _cli("config", "schema", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    assert schema == json.loads(json.dumps(PipelineConfig.model_json_schema()))
    assert schema["additionalProperties"] is False
    assert {"name", "project", "steps", "model"} <= set(schema["required"])
    # Serving and monitoring sections are part of the one schema.
    assert {"serving", "monitoring", "promotion", "sensor"} <= set(schema["properties"])
