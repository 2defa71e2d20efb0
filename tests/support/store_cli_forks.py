"""``mlharness`` commands as real processes forked from one that has already imported them.

Each command a test starts as ``mlharness ARGS`` costs ~4-5 s of CPU before it does anything:
importing MLflow (~2.8 s), its SQL stores (~1.3 s), pandas, the CLI. A test module that
starts dozens of commands pays that dozens of times, for the same imports. Here one helper
process (the *zygote*) imports the CLI and MLflow once; every command is then a fork of it:
its own process, with its own working directory, environment, stdin (``/dev/null``), stdout
and stderr files, argv and exit code, running the console script's ``harness.app.main``, its
atexit handlers and thread shutdown as a normal exit does. A command therefore costs what the
command itself does.

What a fork does not see is output printed while importing: the zygote's own stderr while
it imports is kept (:attr:`ForkedCli.import_output`), so a test can assert it is empty, and
a cold ``mlharness`` subprocess stays where the start-up itself is what a test proves.

The zygote imports nothing from the environment of the test: it starts with no ``MLFLOW_*``
variable, and each command gets the environment it is given (``cli_env`` by default).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.mlflow_cli import CliResult, cli_env
from tests.support.paths import VENV_BIN

__all__ = ["PRELOAD", "Command", "ForkedCli"]

# What most store commands import lazily; a command importing more imports it in its fork.
PRELOAD = (
    "harness.app",
    "mlflow",
    "mlflow.tracking",
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.store.model_registry.sqlalchemy_store",
    "mlflow.store.tracking.rest_store",
    "mlflow.pyfunc",
    "harness.store.registry",
    "harness.store.tracking",
    "registry_tools.operations",
)

_ZYGOTE = r"""
import atexit, importlib, json, os, signal, sys, threading, traceback

for name in json.loads(sys.argv[1]):
    importlib.import_module(name)

requests, replies = sys.stdin, sys.stdout
print(json.dumps({"ready": True, "threads": threading.active_count()}), file=replies, flush=True)
sys.stderr.flush()


def child(command):
    code = 70
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        for fd, path in ((1, command["stdout"]), (2, command["stderr"])):
            os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
        os.chdir(command["cwd"])
        os.environ.clear()
        os.environ.update(command["env"])
        signal.alarm(int(command["timeout"]))  # a hung command dies; the test sees -14
        module, _, function = command["main"].partition(":")
        main = getattr(importlib.import_module(module), function)
        sys.argv = [command["argv0"], *command["args"]]
        try:
            returned = main()
            code = returned if isinstance(returned, int) else 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
        threading._shutdown()
        atexit._run_exitfuncs()
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


for line in requests:
    batch = json.loads(line)
    pending, codes, running = list(enumerate(batch["commands"])), {}, {}
    while pending or running:
        while pending and len(running) < batch["jobs"]:
            index, command = pending.pop(0)
            replies.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                child(command)
            running[pid] = index
        pid, status = os.wait()
        codes[running.pop(pid)] = os.waitstatus_to_exitcode(status)
    print(json.dumps([codes[i] for i in range(len(codes))]), file=replies, flush=True)
"""


@dataclass(frozen=True)
class Command:
    """One ``mlharness ARGS`` in ``cwd``, with ``MLFLOW_TRACKING_URI`` set to ``tracking_uri``
    (``cli_env``) and ``env`` on top, or exactly ``full_env`` when given. ``main`` and
    ``argv0`` name another console script (``"pytest:main"``, ``"pytest"``): its
    function is called with ``sys.argv = [argv0, *args]``, an int it returns is the exit code."""

    args: Sequence[str]
    cwd: Path
    tracking_uri: str | None = None
    env: Mapping[str, str] | None = None
    full_env: Mapping[str, str] | None = None
    timeout: float = 300
    main: str = "harness.app:main"
    argv0: str = "mlharness"


class ForkedCli:
    """The zygote process; close it (or use it as a context manager) when done."""

    def __init__(
        self, preload: Sequence[str] = PRELOAD, env: Mapping[str, str] | None = None
    ) -> None:
        """``env``: the zygote's environment while it imports (a program that reads its
        configuration at import, like Airflow, needs its commands' environment there);
        by default the test's, without ``MLFLOW_*``."""
        self._dir = Path(tempfile.mkdtemp(prefix="mlharness-forks-"))
        self._count = 0
        if env is None:
            env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
            env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
            env["PYTHONWARNINGS"] = "ignore"
        self._stderr = self._dir / "zygote.err"
        with self._stderr.open("w") as err:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _ZYGOTE, json.dumps(list(preload))],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=env,
                cwd=self._dir,
                text=True,
            )
        assert self._process.stdout is not None
        ready = self._process.stdout.readline()
        assert ready, f"the zygote did not start: {self._stderr.read_text()[-3000:]}"
        status = json.loads(ready)
        # forking a process that runs threads would copy their locks mid-use
        assert status["threads"] == 1, f"the zygote runs {status['threads']} threads"
        self.import_output = self._stderr.read_text()

    def run_many(self, commands: Sequence[Command], jobs: int = 3) -> list[CliResult]:
        """The commands, ``jobs`` at a time; results in order. Never raises on failure."""
        specs, outputs = [], []
        for command in commands:
            self._count += 1
            out = self._dir / f"{self._count}.out"
            err = self._dir / f"{self._count}.err"
            if command.full_env is not None:
                env = dict(command.full_env)
            else:
                env = cli_env(command.tracking_uri or "", command.env)
                if command.tracking_uri is None:
                    env.pop("MLFLOW_TRACKING_URI")
            specs.append(
                {
                    "args": [str(a) for a in command.args],
                    "cwd": str(command.cwd),
                    "env": env,
                    "stdout": str(out),
                    "stderr": str(err),
                    "timeout": max(1, int(command.timeout)),
                    "main": command.main,
                    "argv0": command.argv0,
                }
            )
            outputs.append((out, err))
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps({"jobs": jobs, "commands": specs}) + "\n")
        self._process.stdin.flush()
        reply = self._process.stdout.readline()
        assert reply, f"the zygote died: {self._stderr.read_text()[-3000:]}"
        results = []
        for code, (out, err) in zip(json.loads(reply), outputs, strict=True):
            results.append(CliResult(code, out.read_text(), err.read_text()))
            out.unlink()
            err.unlink()
        return results

    def run(self, command: Command) -> CliResult:
        return self.run_many([command])[0]

    def close(self) -> None:
        if self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        for path in self._dir.iterdir():
            path.unlink()
        self._dir.rmdir()

    def __enter__(self) -> ForkedCli:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
