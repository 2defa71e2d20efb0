"""Every command that talks to a tracking store, pointed at a closed port: exit 5, one line,
no traceback, after the boundary's small retry policy (seconds, not MLflow's minutes).

Each command is its own process running the console script's ``main``, forked from one that
has imported the CLI and MLflow once (``tests/support/store_cli_forks.py``): 17 commands cost
about one cold start instead of 17 (~4.5 s of CPU each, all imports). The forks run side by
side, since each mostly waits out the retries. A cold process's start-up output is checked on
the zygote's imports, and ``test_registry_cli`` keeps a cold ``mlharness`` on a closed port.

``MLFLOW_TRACKING_URI`` is unset and the store is named only by ``--tracking-uri``, so a
command that quietly fell back to MLflow's default store would not fail with 5 here.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from tests.support.paths import VENV_BIN
from tests.support.store_cli_forks import Command, ForkedCli

pytestmark = pytest.mark.functional

TESTS = Path(__file__).resolve().parents[1]
TINY = TESTS / "harness" / "tiny"
STEPS = TESTS / "sweep" / "steps"
RUN = "0123456789abcdef0123456789abcdef"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["MLHARNESS_CACHE_DIR"] = str(tmp_path / "cache")
    env["PYTHONWARNINGS"] = "ignore"
    return env


def test_every_store_command_fails_with_5_in_one_line_on_a_closed_port(tmp_path: Path) -> None:
    env = _env(tmp_path)
    (tmp_path / "data.txt").write_text("one\n")
    (tmp_path / "batch.csv").write_text("x,y\n1,2\n3,4\n5,6\n")
    forks = ForkedCli()
    request = ["monitor", "profile", "batch.csv", "-o", "ref.json"]
    made = forks.run(Command(request, tmp_path, full_env=env))
    assert made.returncode == 0, made.output
    uri = ["--tracking-uri", f"http://127.0.0.1:{_closed_port()}"]
    commands: dict[str, list[str]] = {
        "run": ["run", str(TINY), "-P", "p=data.txt", "-P", "s=a", "--env-manager", "local"],
        "show": ["show", RUN],
        "replay": ["replay", RUN],
        "verify": ["verify", RUN],
        "sweep": ["sweep", str(STEPS), "-P", "x=1,2", "--env-manager", "local"],
        "sweep --resume": ["sweep", "--resume", RUN],
        "registry list": ["registry", "list"],
        "registry show": ["registry", "show", "rf"],
        "registry register": ["registry", "register", RUN, "--name", "rf"],
        "registry tag set": ["registry", "tag", "set", "rf", "1", "a=b"],
        "registry alias set": ["registry", "alias", "set", "rf", "champion", "1"],
        "registry describe": ["registry", "describe", "rf", "text"],
        "registry promote": [
            "registry",
            "promote",
            "rf",
            "-v",
            "1",
            "--to",
            "champion",
            "-g",
            "acc >= 0.5",
        ],
        "registry rollback": ["registry", "rollback", "rf", "--alias", "champion"],
        "monitor profile": ["monitor", "profile", "--model", "models:/rf@champion"],
        "monitor drift": [
            "monitor",
            "drift",
            "--reference",
            "ref.json",
            "--current",
            "batch.csv",
            "--log-to-mlflow",
        ],
        "serve": ["serve", "models:/rf@champion", "--port", str(_closed_port()), "--dry-run"],
    }
    # The timeout (a fork that outlives it dies, exit -14) only guards against MLflow's
    # default retries: minutes per request, where the boundary's policy takes seconds.
    calls = [Command([*a, *uri], tmp_path, full_env=env, timeout=300) for a in commands.values()]
    try:
        results = dict(zip(commands, forks.run_many(calls, jobs=len(calls)), strict=True))
    finally:
        forks.close()
    assert forks.import_output == ""  # what every cold command would print before its own
    wrong = {}
    for name, result in results.items():
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        one_line = len(lines) == 1 and lines[0].startswith("error:")
        if result.returncode != 5 or not one_line or "Traceback" in result.output:
            wrong[name] = (result.returncode, result.stderr[-600:])
    assert wrong == {}, wrong
