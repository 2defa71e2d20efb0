"""A template from a Git URL, served by a real loopback ``git daemon`` that this test starts."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import ExitCode, ExternalServiceError, SourceError
from harness.scaffold import create_project
from tests.unit.templates.support import TEMPLATE

pytestmark = pytest.mark.integration

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT_ENV}
    )


@pytest.fixture
def git_daemon(tmp_path: Path) -> Iterator[str]:
    """``git://127.0.0.1:<port>``, serving a bare repo that holds templates/mlflow-project."""
    work = tmp_path / "work"
    shutil.copytree(TEMPLATE, work / "templates" / "mlflow-project")
    _git("init", "-q", "-b", "main", cwd=work)
    _git("add", ".", cwd=work)
    _git("commit", "-q", "-m", "template", cwd=work)
    base = tmp_path / "served"
    base.mkdir()
    _git("clone", "-q", "--bare", str(work), str(base / "mlharness.git"), cwd=tmp_path)

    port = _free_port()
    daemon = subprocess.Popen(
        [
            "git",
            "daemon",
            "--listen=127.0.0.1",
            f"--port={port}",
            f"--base-path={base}",
            "--export-all",
            "--reuseaddr",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if daemon.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("git daemon did not start") from None
                time.sleep(0.05)
        yield f"git://127.0.0.1:{port}"
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=10)


def test_a_template_from_a_git_url_renders(
    git_daemon: str, cookiecutter_home: Path, tmp_path: Path
) -> None:
    created = create_project(
        f"{git_daemon}/mlharness.git",
        directory="templates/mlflow-project",
        checkout="main",
        output_dir=tmp_path / "out",
        values={"project_name": "From Git", "model_family": "sklearn-gbm"},
        no_input=True,
    )
    project = tmp_path / "out" / "from_git"
    assert created.project_dir == project
    assert "GradientBoostingClassifier" in (project / "from_git" / "model.py").read_text()
    assert (project / ".mlharness-template.json").is_file()
    # The clone was temporary: nothing in the cookiecutter cache.
    assert not (cookiecutter_home / "cookiecutters").exists()


def test_a_missing_repository_is_bad_input(
    git_daemon: str, cookiecutter_home: Path, tmp_path: Path
) -> None:
    with pytest.raises(SourceError) as exc:
        create_project(f"{git_daemon}/nothing-here.git", output_dir=tmp_path / "out")
    assert exc.value.exit_code == ExitCode.BAD_INPUT
    assert not (tmp_path / "out").exists()


def test_an_unreachable_server_is_an_external_failure(
    cookiecutter_home: Path, tmp_path: Path
) -> None:
    with pytest.raises(ExternalServiceError) as exc:
        create_project(f"git://127.0.0.1:{_free_port()}/x.git", output_dir=tmp_path / "out")
    assert exc.value.exit_code == ExitCode.EXTERNAL
    assert "git clone failed" in exc.value.one_line()
