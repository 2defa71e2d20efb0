"""``mlharness run`` straight from Git remotes served on 127.0.0.1: git daemon and smart HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.support.git_servers import (
    commit_change,
    free_port,
    git,
    git_daemon,
    make_repo,
    smart_http,
)
from tests.support.harness_cli import TINY, all_runs, json_of, manifest_of, mlharness
from tests.support.stores import unopened_store

pytestmark = pytest.mark.integration
LOCAL = ["--env-manager", "local"]
BOUND_S = 90  # every failure must be reported well within this (subprocess timeout)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A repo with commits on main (tag v1 on the first) and a feature branch, served twice."""
    base = tmp_path / "served"
    repo = base / "proj.git"
    first = make_repo(repo, {"tiny": TINY})
    git(repo, "tag", "v1")
    second = commit_change(repo, "tiny/MLproject", "\n# second commit\n")
    git(repo, "checkout", "-q", "-b", "feature")
    feature = commit_change(repo, "tiny/tiny.py", "\n# feature\n")
    git(repo, "checkout", "-q", "main")
    with git_daemon(base) as daemon, smart_http(base) as http:
        yield {
            "daemon": daemon,
            "http": http,
            "first": first,
            "second": second,
            "feature": feature,
            "repo": str(repo),
        }


def _env(tmp_path: Path) -> dict[str, str]:
    return {"MLHARNESS_CACHE_DIR": str(tmp_path / "cache")}


def test_run_by_branch_tag_and_commit_over_git_daemon_and_smart_http(
    tracking_uri: str, tmp_path: Path, served: dict[str, str]
) -> None:
    # A fixed input (the default "." would be this changing directory).
    (tmp_path / "in.txt").write_text("input")

    def run(url: str, version: str | None, *extra: str) -> dict[str, object]:
        pinned = ["--version", version] if version else []
        done = mlharness(
            "run",
            url,
            *pinned,
            *LOCAL,
            "-P",
            "p=in.txt",
            "--json",
            tracking_uri=tracking_uri,
            cwd=tmp_path,
            env=_env(tmp_path),
            timeout=BOUND_S * 3,
        )
        assert done.returncode == 0, done.output
        assert "s3cret" not in done.output
        result: dict[str, object] = json_of(done)
        return result

    daemon_url = f"{served['daemon']}/proj.git#tiny"
    by_branch = run(daemon_url, "main")
    doc = manifest_of(tracking_uri, str(by_branch["run_id"]), tmp_path / "m1")
    assert doc["source"]["commit"] == served["second"]
    assert (doc["source"]["uri"], doc["source"]["subdir"], doc["source"]["version"]) == (
        f"{served['daemon']}/proj.git",
        "tiny",
        "main",
    )

    by_tag = run(daemon_url, "v1")
    tag_doc = manifest_of(tracking_uri, str(by_tag["run_id"]), tmp_path / "m2")
    assert tag_doc["source"]["commit"] == served["first"]
    # The same commit asked for by sha is the same code: a cache hit, no new run.
    by_commit = run(daemon_url, served["first"])
    assert by_commit["cached"] is True and by_commit["run_id"] == by_tag["run_id"]
    assert by_commit["cache_key"] == by_tag["cache_key"] == tag_doc["cache_key"]

    # No --version: the remote's HEAD (main), the same code as the branch run over git://.
    by_default = run(f"{served['http']}/proj.git#tiny", None)
    assert by_default["cached"] is True and by_default["run_id"] == by_branch["run_id"]

    # Smart HTTP with credentials in the URL: they reach git, never the store.
    http_url = served["http"].replace("http://", "http://bob:s3cret@") + "/proj.git#tiny"
    by_http = run(http_url, "feature")
    run_info = MlflowClient(tracking_uri).get_run(str(by_http["run_id"]))
    http_doc = manifest_of(tracking_uri, str(by_http["run_id"]), tmp_path / "m3")
    assert http_doc["source"]["commit"] == served["feature"]
    assert http_doc["source"]["uri"] == f"{served['http']}/proj.git"
    assert "s3cret" not in str(http_doc) and "bob" not in str(http_doc)
    assert all("s3cret" not in v for v in run_info.data.tags.values())
    assert all("s3cret" not in v for v in run_info.data.params.values())
    assert len(all_runs(tracking_uri)) == 3

    # The remote moves on; verify fetches the recorded commit again.
    commit_change(Path(served["repo"]), "tiny/tiny.py", "\nraise SystemExit(3)\n")
    verified = mlharness(
        "verify",
        str(by_http["run_id"]),
        "--json",
        tracking_uri=tracking_uri,
        cwd=tmp_path,
        env=_env(tmp_path),
        timeout=BOUND_S * 3,
    )
    assert verified.returncode == 0 and json_of(verified)["identical"], verified.output


def test_unknown_commit_and_unreachable_host_fail_clearly(
    tmp_path: Path, served: dict[str, str]
) -> None:
    tracking_uri, database = unopened_store(tmp_path)
    unknown = mlharness(
        "run",
        f"{served['http']}/proj.git#tiny",
        "--version",
        "ab" * 20,
        *LOCAL,
        tracking_uri=tracking_uri,
        cwd=tmp_path,
        env=_env(tmp_path),
        timeout=BOUND_S,
    )
    assert unknown.returncode == 2, unknown.output
    assert f"has no branch, tag or commit '{'ab' * 20}'" in unknown.stderr
    missing_ref = mlharness(
        "run",
        f"{served['daemon']}/proj.git#tiny",
        "--version",
        "nope",
        *LOCAL,
        tracking_uri=tracking_uri,
        cwd=tmp_path,
        env=_env(tmp_path),
        timeout=BOUND_S,
    )
    assert missing_ref.returncode == 2 and "'nope'" in missing_ref.stderr
    closed = free_port()
    for url in (
        f"git://127.0.0.1:{closed}/proj.git#tiny",
        f"http://user:tok3n@127.0.0.1:{closed}/proj.git#tiny",
    ):
        down = mlharness(
            "run",
            url,
            *LOCAL,
            tracking_uri=tracking_uri,
            cwd=tmp_path,
            env=_env(tmp_path),
            timeout=BOUND_S,
        )
        assert down.returncode == 5, down.output
        assert "cannot fetch" in down.stderr and "tok3n" not in down.output
    assert not database.exists()
