"""Source URL parsing, credential stripping and working-tree state (real git, no runs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.kernel.errors import SourceError
from harness.kernel.redaction import redact, strip_credentials
from harness.run.source import checkout, parse_remote
from tests.support.git_servers import commit_change, git, make_repo
from tests.support.paths import PROJECTS


@pytest.mark.parametrize(
    ("uri", "fetch_url", "url", "subdir"),
    [
        (
            "https://github.com/org/repo",
            "https://github.com/org/repo",
            "https://github.com/org/repo",
            "",
        ),
        (
            "https://user:tok@github.com/org/repo.git#projects/rf",
            "https://user:tok@github.com/org/repo.git",
            "https://github.com/org/repo.git",
            "projects/rf",
        ),
        (
            "https://ghp_secret@github.com/org/repo",
            "https://ghp_secret@github.com/org/repo",
            "https://github.com/org/repo",
            "",
        ),
        (
            "ssh://git:pw@host.example/org/repo#rf",
            "ssh://git:pw@host.example/org/repo",
            "ssh://git@host.example/org/repo",
            "rf",
        ),
        (
            "git://127.0.0.1:9418/repo.git#rf",
            "git://127.0.0.1:9418/repo.git",
            "git://127.0.0.1:9418/repo.git",
            "rf",
        ),
        (
            "git@github.com:org/repo.git#a/b",
            "git@github.com:org/repo.git",
            "git@github.com:org/repo.git",
            "a/b",
        ),
        (
            "github.com/mlflow/mlflow-example",
            "https://github.com/mlflow/mlflow-example",
            "https://github.com/mlflow/mlflow-example",
            "",
        ),
    ],
)
def test_remote_forms_are_parsed_and_recorded_without_credentials(
    uri: str, fetch_url: str, url: str, subdir: str
) -> None:
    remote = parse_remote(uri)
    assert remote is not None
    assert (remote.fetch_url, remote.url, remote.subdir) == (fetch_url, url, subdir)
    assert "tok" not in remote.url and "pw" not in remote.url and "secret" not in remote.url


@pytest.mark.parametrize("uri", ["projects/rf", "/abs/path", ".", "rf#sub"])
def test_local_paths_are_not_remotes(uri: str) -> None:
    assert parse_remote(uri) is None


def test_subdir_may_not_leave_the_repository() -> None:
    with pytest.raises(SourceError, match="leaves the repository"):
        parse_remote("https://host/repo#../etc")


def test_strip_and_redact_credentials_in_free_text() -> None:
    assert strip_credentials("http://a:b@h/x") == "http://h/x"
    text = "fatal: unable to access 'https://bob:s3cr3t@git.example/r/': refused"
    assert redact(text) == "fatal: unable to access 'https://git.example/r/': refused"


def test_local_source_records_commit_dirty_flag_and_diff_digest(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    head = make_repo(repo, {"rf": PROJECTS / "rf"})
    with checkout(str(repo / "rf"), None) as clean:
        assert (clean.commit, clean.dirty, clean.diff_digest, clean.subdir) == (
            head,
            False,
            None,
            "rf",
        )
        assert clean.uri == str(repo)
    (repo / "notes-outside-the-project.txt").write_text("not the project's code")
    with checkout(str(repo / "rf"), None) as still_clean:
        assert not still_clean.dirty
    (repo / "rf" / "notes.txt").write_text("untracked")
    with checkout(str(repo / "rf"), None) as dirty:
        assert dirty.dirty and dirty.diff_digest is not None
        assert dirty.tree_digest != clean.tree_digest
    (repo / "rf" / "notes.txt").write_text("changed")
    with checkout(str(repo / "rf"), None) as dirtier:
        assert dirtier.diff_digest != dirty.diff_digest
    with (
        pytest.raises(SourceError, match="uncommitted changes"),
        checkout(str(repo / "rf"), None, require_clean=True),
    ):
        pass


def test_local_version_exports_history_not_the_working_tree(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    first = make_repo(repo, {"rf": PROJECTS / "rf"})
    with checkout(str(repo / "rf"), None) as before:
        pass
    commit_change(repo, "rf/MLproject", "\n# moved on\n")
    git(repo, "tag", "v1", first)
    for version in (first, first[:10], "v1"):
        with checkout(str(repo / "rf"), version) as old:
            assert old.commit == first
            assert old.tree_digest == before.tree_digest
            assert old.project_dir != repo / "rf"
            exported = old.project_dir
        assert not exported.exists()
    with (
        pytest.raises(SourceError, match="no branch, tag or commit"),
        checkout(str(repo / "rf"), "0" * 40),
    ):
        pass


def test_missing_local_project_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"), checkout(str(tmp_path / "nope"), None):
        pass
