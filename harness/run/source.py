"""Resolve a project source to a local directory and the exact commit it came from.

MLflow can fetch Git projects itself, but it neither records a dirty working tree, nor
resolves a branch to its full commit before the run, nor strips credentials from the URL
it tags the run with. So every remote is fetched here into a cache (``git fetch``),
the requested ref is resolved to a 40-hex commit, that commit is exported into a temp
directory, and MLflow is launched on the local export: the recorded commit is exactly
the code that ran.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.kernel.digests import sha256_bytes, tree_digest
from harness.kernel.errors import ExternalServiceError, SourceError
from harness.kernel.redaction import redact, strip_credentials

__all__ = [
    "FETCH_ATTEMPTS",
    "FETCH_TIMEOUT_S",
    "RemoteURI",
    "ResolvedSource",
    "cache_root",
    "checkout",
    "export_commit",
    "git",
    "local_commit",
    "parse_remote",
    "repo_root",
    "resolve_commit",
    "resolve_local",
    "working_tree_state",
]

_SCHEME_URL = re.compile(r"^(?P<scheme>https?|ssh|git)://", re.IGNORECASE)
_SCP_URL = re.compile(r"^(?P<user>[\w.-]+@)?(?P<host>[\w.-]+):(?!//)(?P<path>[^\\]+)$")
_SHORTHAND = re.compile(r"^(?P<host>(?:github\.com|gitlab\.com|bitbucket\.org))/(?P<path>.+)$")
_HEX40 = re.compile(r"^[0-9a-f]{40}$")

FETCH_TIMEOUT_S = 300.0
FETCH_ATTEMPTS = 2


@dataclass(frozen=True)
class RemoteURI:
    """A parsed Git remote: ``fetch_url`` keeps credentials for git, ``url`` never does."""

    fetch_url: str
    url: str
    subdir: str


def parse_remote(uri: str) -> RemoteURI | None:
    """Parse a Git remote (``https://``, ``ssh://``, ``git://``, ``git@host:org/repo``,
    ``github.com/org/repo``) with an optional ``#subdir``; None for anything else."""
    base, _, subdir = uri.partition("#")
    subdir = subdir.strip("/")
    if ".." in Path(subdir).parts:
        raise SourceError(f"subdirectory {subdir!r} leaves the repository", hint="remove '..'")
    if _SCHEME_URL.match(base):
        fetch_url = base
    elif (short := _SHORTHAND.match(base)) is not None:
        fetch_url = f"https://{short.group('host')}/{short.group('path')}"
    elif _SCP_URL.match(base) and not Path(base).exists():
        fetch_url = base
    else:
        return None
    return RemoteURI(fetch_url=fetch_url, url=strip_credentials(fetch_url), subdir=subdir)


@dataclass(frozen=True)
class ResolvedSource:
    """Where the project code is on disk now, and what to record about where it came from."""

    uri: str
    commit: str | None
    subdir: str
    version: str | None
    dirty: bool
    diff_digest: str | None
    project_dir: Path
    tree_digest: str
    remote: bool


def _git_env() -> dict[str, str]:
    """Environment for git: never prompt, give up on stalled transfers, bounded ssh connects."""
    env = dict(os.environ)
    env.update(
        {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_HTTP_LOW_SPEED_LIMIT": "1000",
            "GIT_HTTP_LOW_SPEED_TIME": "20",
            "GIT_SSH_COMMAND": env.get(
                "GIT_SSH_COMMAND", "ssh -o BatchMode=yes -o ConnectTimeout=15"
            ),
            "LC_ALL": "C",
        }
    )
    return env


def git(
    *args: str, cwd: Path | None = None, timeout: float = 60.0, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    """Run git; on failure raise SourceError with git's (redacted) last line."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=_git_env(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise SourceError("git is not installed", hint="install git") from exc
    except subprocess.TimeoutExpired as exc:
        raise ExternalServiceError(
            f"git {redact(' '.join(args[:2]))} timed out after {timeout:.0f} s"
        ) from exc
    if check and done.returncode != 0:
        raise SourceError(f"git {args[0]} failed: {_last_line(done.stderr)}")
    return done


def _last_line(stderr: bytes) -> str:
    lines = [line for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return redact(lines[-1].strip()) if lines else "no output"


# ---------------------------------------------------------------- local sources


def repo_root(path: Path) -> Path | None:
    """The root of the git working tree that contains ``path``, or None."""
    done = git("rev-parse", "--show-toplevel", cwd=path, check=False)
    if done.returncode != 0:
        return None
    return Path(done.stdout.decode().strip())


def _subdir_in(root: Path, project: Path) -> str:
    """``project``'s path inside the repo at ``root`` ("" for the root itself)."""
    relative = project.relative_to(root).as_posix()
    return "" if relative == "." else relative


def working_tree_state(root: Path, subdir: str = "") -> tuple[str | None, bool, str | None]:
    """(HEAD commit, dirty, digest of ``git diff HEAD`` plus untracked files) of the project
    at ``subdir`` of a repo: changes elsewhere in the repo are not the project's code."""
    scope = ["--", subdir or "."]
    head = git("rev-parse", "--verify", "-q", "HEAD", cwd=root, check=False)
    commit = head.stdout.decode().strip() if head.returncode == 0 else None
    status = git("status", "--porcelain", "--untracked-files=all", *scope, cwd=root).stdout
    if not status.strip():
        return commit, False, None
    diff = git("diff", "HEAD", "--binary", *scope, cwd=root, check=False).stdout
    untracked = git("ls-files", "--others", "--exclude-standard", "-z", *scope, cwd=root).stdout
    digest = hashlib.sha256()
    digest.update(diff)
    for name in sorted(n for n in untracked.decode().split("\0") if n):
        file = root / name
        digest.update(name.encode() + b"\0")
        digest.update(sha256_bytes(file.read_bytes()).encode() if file.is_file() else b"-")
    return commit, True, digest.hexdigest()


def resolve_local(path: Path, *, require_clean: bool) -> ResolvedSource:
    """A project on disk, run where it is; the commit and dirty state are recorded."""
    project = path.resolve()
    if not project.is_dir():
        raise SourceError(f"project {str(path)!r} is not a directory", hint="check the path")
    root = repo_root(project)
    subdir = _subdir_in(root, project) if root is not None else ""
    commit, dirty, diff_digest = (None, False, None)
    if root is not None:
        commit, dirty, diff_digest = working_tree_state(root, subdir)
        if dirty and require_clean:
            raise SourceError(
                f"working tree {root} has uncommitted changes (--require-clean)",
                hint="commit or stash them, or drop --require-clean",
            )
    return ResolvedSource(
        uri=str(root or project),
        commit=commit,
        subdir=subdir,
        version=None,
        dirty=dirty,
        diff_digest=diff_digest,
        project_dir=project,
        tree_digest=tree_digest(project),
        remote=False,
    )


# ---------------------------------------------------------------- remote sources


def cache_root() -> Path:
    """Where fetched repositories are kept (``git/`` in the mlharness cache)."""
    from harness.kernel.cache import cache_home

    return cache_home() / "git"


def _store(remote: RemoteURI) -> Path:
    return cache_root() / hashlib.sha256(remote.url.encode()).hexdigest()[:24]


@contextmanager
def _cache_lock(remote: RemoteURI) -> Iterator[None]:
    """One fetch at a time per cached remote (concurrent runs would fight over git's locks)."""
    import fcntl

    lock_file = _store(remote).with_suffix(".lock")
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fetch(remote: RemoteURI, version: str | None) -> Path:
    """Fetch branches, tags and HEAD of ``remote`` into its bare cache repository."""
    store = _store(remote)
    if not (store / "HEAD").exists():
        store.mkdir(parents=True, exist_ok=True)
        git("init", "--bare", "-q", str(store))
    refspecs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*", "+HEAD:refs/remote-head"]
    error = ""
    for attempt in range(FETCH_ATTEMPTS):
        done = git(
            "--git-dir",
            str(store),
            "fetch",
            "--prune",
            "-q",
            remote.fetch_url,
            *refspecs,
            timeout=FETCH_TIMEOUT_S,
            check=False,
        )
        if done.returncode == 0:
            break
        error = _last_line(done.stderr)
        if attempt + 1 < FETCH_ATTEMPTS:
            time.sleep(1.0)
    else:
        raise ExternalServiceError(
            f"cannot fetch {remote.url}: {error.replace(remote.fetch_url, remote.url)}",
            hint=f"gave up after {FETCH_ATTEMPTS} attempts; check the URL and the network",
        )
    if version and _HEX40.match(version) and not _has_commit(store, version):
        # Not reachable from any advertised ref: ask for it by sha (servers may allow it).
        git(
            "--git-dir",
            str(store),
            "fetch",
            "-q",
            remote.fetch_url,
            version,
            timeout=FETCH_TIMEOUT_S,
            check=False,
        )
    return store


def _has_commit(git_dir: Path, ref: str) -> bool:
    done = git("--git-dir", str(git_dir), "cat-file", "-e", f"{ref}^{{commit}}", check=False)
    return done.returncode == 0


def resolve_commit(git_dir: Path, version: str | None, *, where: str) -> str:
    """The full 40-hex commit of ``version`` (branch, tag, short or full sha, None = HEAD)."""
    candidates = (
        ["refs/remote-head", "HEAD"]
        if version is None
        else [f"refs/heads/{version}", f"refs/tags/{version}", version]
    )
    for ref in candidates:
        done = git(
            "--git-dir",
            str(git_dir),
            "rev-parse",
            "--verify",
            "-q",
            f"{ref}^{{commit}}",
            check=False,
        )
        if done.returncode == 0:
            return done.stdout.decode().strip()
    raise SourceError(
        f"{where} has no branch, tag or commit {version or 'HEAD'!r}",
        hint="check --version (a branch, a tag or a commit sha)",
    )


def export_commit(git_dir: Path, commit: str, subdir: str, *, where: str) -> Path:
    """Write the tree of ``commit`` into a new temp dir (no .git); returns that dir."""
    target = Path(tempfile.mkdtemp(prefix="mlharness-src-"))
    try:
        archive = git(
            "--git-dir",
            str(git_dir),
            "archive",
            "--format=tar",
            commit,
            *([subdir] if subdir else []),
            check=False,
            timeout=FETCH_TIMEOUT_S,
        )
        if archive.returncode != 0:
            raise SourceError(
                f"{where}: {_last_line(archive.stderr)}", hint="check the subdirectory after '#'"
            )
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(target, filter="data")
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return target


@contextmanager
def checkout(
    uri: str, version: str | None, *, require_clean: bool = False
) -> Iterator[ResolvedSource]:
    """Resolve ``uri`` (local path or Git remote) at ``version``; temp exports are removed
    when the block ends."""
    remote = parse_remote(uri)
    if remote is None:
        base, _, subdir = uri.partition("#")
        path, subdir = Path(base).expanduser(), subdir.strip("/")
        if not path.exists():
            raise SourceError(
                f"project {uri!r} not found",
                hint="give a directory with an MLproject, or a Git URL",
            )
        if version is None:
            yield resolve_local(path / subdir, require_clean=require_clean)
            return
        project = (path / subdir).resolve()
        root = repo_root(project)
        if root is None:
            raise SourceError(
                f"{project} is not inside a git repository", hint="--version needs git history"
            )
        with local_commit(root, _subdir_in(root, project), version) as source:
            yield source
        return
    with _cache_lock(remote):
        store = _fetch(remote, version)
        commit = resolve_commit(store, version, where=remote.url)
        work = export_commit(store, commit, remote.subdir, where=remote.url)
    with _exported(work, remote.url, commit, remote.subdir, version, remote=True) as source:
        yield source


@contextmanager
def _exported(
    work: Path, uri: str, commit: str, subdir: str, version: str | None, *, remote: bool
) -> Iterator[ResolvedSource]:
    """The source of a commit exported into ``work`` by :func:`export_commit`; ``work`` is
    removed when the block ends."""
    try:
        project = work / subdir
        yield ResolvedSource(
            uri=uri,
            commit=commit,
            subdir=subdir,
            version=version,
            dirty=False,
            diff_digest=None,
            project_dir=project,
            tree_digest=tree_digest(project),
            remote=remote,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def local_commit(root: Path, subdir: str, version: str) -> Iterator[ResolvedSource]:
    """A project as it was at ``version`` in the history of the repo at ``root``, exported
    from git (so it works even when the working tree has moved on or lost the project)."""
    if repo_root(root) is None:
        raise SourceError(f"{root} is not a git repository", hint="--version needs git history")
    git_dir = Path(git("rev-parse", "--absolute-git-dir", cwd=root).stdout.decode().strip())
    commit = resolve_commit(git_dir, version, where=str(root))
    work = export_commit(git_dir, commit, subdir, where=str(root))
    with _exported(work, str(root), commit, subdir, version, remote=False) as source:
        yield source
