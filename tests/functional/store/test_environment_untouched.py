"""A command run in-process leaves ``os.environ`` and MLflow's process globals as it found
them: the MLflow boundary hands the tracking URI and its HTTP policy to child processes in
their own environment (or inside one scoped block), never by writing this process's.

Each command is the real CLI (``harness.app.run_cli``) in this test's process, against a
sqlite store named only by ``--tracking-uri`` (``MLFLOW_TRACKING_URI`` unset), so a command
that leaned on a global URI would also fail here.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
import typer.main

from harness.app import app, run_cli
from tests.support.stores import fresh_store_uri

pytestmark = pytest.mark.functional

TESTS = Path(__file__).resolve().parents[1]
TINY = TESTS / "harness" / "tiny"
STEPS = TESTS / "sweep" / "steps"


def _globals() -> tuple[object, object]:
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    return tracking_utils._tracking_uri, registry_utils._registry_uri


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_command_changes_the_environment_or_mlflows_globals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.txt").write_text("one\n")
    uri = fresh_store_uri(tmp_path / "mlflow.db")  # a copy: no migrations run in this process
    command = typer.main.get_command(app)
    import mlflow.projects  # noqa: F401  (imports may set variables; commands must not)

    def check(args: list[str], expected: int) -> str:
        before_env, before_globals = dict(os.environ), _globals()
        code = run_cli(command, args, "mlharness")
        out = capsys.readouterr()
        assert code == expected, (args, out.out[-2000:], out.err[-2000:])
        assert dict(os.environ) == before_env, (
            args,
            set(os.environ.items()) ^ set(before_env.items()),
        )
        assert _globals() == before_globals, args
        return out.out

    run_args = ["run", str(TINY), "-P", "p=data.txt", "-P", "s=a", "--env-manager", "local"]
    first = json.loads(check([*run_args, "--tracking-uri", uri, "--json"], 0))
    run_id = first["run_id"]
    assert json.loads(check([*run_args, "--tracking-uri", uri, "--json"], 0))["cached"]
    check(["show", run_id, "--tracking-uri", uri, "--json"], 0)
    check(["replay", run_id, "--tracking-uri", uri, "--dry-run"], 0)
    check(["verify", run_id, "--tracking-uri", uri, "--json"], 0)
    sweep = ["sweep", str(STEPS), "-P", "x=1,2", "--env-manager", "local", "--json"]
    check([*sweep, "--tracking-uri", uri], 0)
    check(["registry", "list", "--tracking-uri", uri], 0)
    check(["registry", "show", "no-such-model", "--tracking-uri", uri], 2)
    closed = f"http://127.0.0.1:{_closed_port()}"
    check(["show", run_id, "--tracking-uri", closed], 5)
