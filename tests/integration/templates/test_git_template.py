"""A template from a Git URL, served by a real loopback ``git daemon`` that this test starts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.kernel.errors import ExitCode, ExternalServiceError, SourceError
from harness.scaffold.project_template import create_project
from tests.support.git_servers import free_port, git, git_daemon, make_repo
from tests.support.templates import TEMPLATE

pytestmark = pytest.mark.integration


@pytest.fixture
def template_server(tmp_path: Path) -> Iterator[str]:
    """``git://127.0.0.1:<port>``, serving a bare repo that holds templates/mlflow-project."""
    work = tmp_path / "work"
    make_repo(work, {"templates/mlflow-project": TEMPLATE})
    base = tmp_path / "served"
    base.mkdir()
    git(tmp_path, "clone", "-q", "--bare", str(work), str(base / "mlharness.git"))
    with git_daemon(base) as url:
        yield url


def test_a_template_from_a_git_url_renders(
    template_server: str, cookiecutter_home: Path, tmp_path: Path
) -> None:
    created = create_project(
        f"{template_server}/mlharness.git",
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
    template_server: str, cookiecutter_home: Path, tmp_path: Path
) -> None:
    with pytest.raises(SourceError) as exc:
        create_project(f"{template_server}/nothing-here.git", output_dir=tmp_path / "out")
    assert exc.value.exit_code == ExitCode.BAD_INPUT
    assert not (tmp_path / "out").exists()


def test_an_unreachable_server_is_an_external_failure(
    cookiecutter_home: Path, tmp_path: Path
) -> None:
    with pytest.raises(ExternalServiceError) as exc:
        create_project(f"git://127.0.0.1:{free_port()}/x.git", output_dir=tmp_path / "out")
    assert exc.value.exit_code == ExitCode.EXTERNAL
    assert "git clone failed" in exc.value.one_line()
