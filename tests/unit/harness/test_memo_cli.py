"""The typer-free reading of ``mlharness run`` arguments (harness.run.memo_cli): whenever it
answers, it builds exactly the memo request typer's ``run`` command builds; every form it
does not read the way typer does is left to typer (None)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.app import load_command
from harness.run import memo_cli, operations

READ = [
    ["proj"],
    ["proj", "-P", "a=1", "--param", "b=x=y", "-P", "a=2"],
    ["-e", "train", "proj", "--env-manager", "local"],
    ["proj", "--entry-point=train", "--param=c= spaced ", "--env-manager=uv"],
    ["proj", "--experiment-name", "exp", "--run-name", "r", "--tracking-uri", "sqlite:///x.db"],
    ["proj", "-P", " k =v"],
]
LEFT_TO_TYPER = [
    [],
    ["--help"],
    ["proj", "--json"],
    ["proj", "--force"],
    ["proj", "--dry-run"],
    ["proj", "--require-clean"],
    ["proj", "--version", "v1"],
    ["proj", "other"],
    ["proj", "-Pa=1"],
    ["proj", "-P"],
    ["proj", "-P", "novalue"],
    ["proj", "-P", "=1"],
    ["proj", "-P", "-a=1"],
    ["proj", "--env-manager", "pip"],
    ["proj", "-e", "a", "-e", "b"],
    ["proj", "--", "x"],
    ["proj", "--unknown", "x"],
    ["proj", "-e=train"],
]


def _typer_request(args: list[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The memo request typer's own ``run`` command builds for ``args``."""
    seen: list[operations.RunRequest] = []

    def capture(request: operations.RunRequest) -> operations.RunResult:
        seen.append(request)
        return operations.RunResult("rid", "FINISHED", True, "key")

    monkeypatch.setattr(operations, "run", capture)  # the launch, not the parse under test
    load_command("harness.run.cli:run_command").main(
        args=args, prog_name="mlharness run", standalone_mode=False
    )
    return operations._memo_request(seen[0])


@pytest.mark.parametrize("args", READ)
def test_what_it_reads_is_what_typer_reads(
    args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert memo_cli.parse_run_args(args) == _typer_request(args, monkeypatch)


@pytest.mark.parametrize("args", LEFT_TO_TYPER)
def test_every_other_form_is_left_to_typer(args: list[str]) -> None:
    assert memo_cli.parse_run_args(args) is None


def test_env_managers_are_the_clis() -> None:
    from harness.run.cli import EnvManager

    assert {m.value for m in EnvManager} == memo_cli.ENV_MANAGERS


def test_no_memo_no_answer(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLHARNESS_CACHE_DIR", str(tmp_path / "cache"))
    args = [str(tmp_path), "--tracking-uri", f"sqlite:///{tmp_path}/mlflow.db"]
    assert memo_cli.cached_line(args) is None
