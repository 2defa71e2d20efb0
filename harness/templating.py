"""Cookiecutter templates, shared by every command that writes a tree from one: where the
templates are (``TEMPLATES_DIR``), and the one way a template becomes a rendered tree
(:func:`render_tree`), used by ``mlharness new``, ``mlharness airflow render`` and
``mlharness monitor render``.

Cookiecutter does the rendering; what this module adds is that a render is all or nothing.
Cookiecutter writes into a fresh staging directory beside the target (the same file system,
so the final step is a rename), and only a complete tree is put in place:

- ``swap`` replaces the target as a whole: the old tree is renamed aside into the staging
  directory, the new one renamed into place, and the old one comes back if that fails.
- ``update`` moves in only the files whose bytes (or executable bit) differ, one atomic
  rename each, and keeps every other file of the target: a running stack that bind-mounts
  ``dags/`` keeps its mount and sees each changed file appear whole.

A target already holding exactly the rendered files is left alone (``RenderedTree.same``).
A failure at any step (cookiecutter, a hook, a refusal, a rename) removes the staging
directory and any parent directory the render created, and leaves the target as it was.
A dry run renders into a scratch directory and reports, and creates nothing near the target.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness.kernel.digests import tree_digest
from harness.kernel.errors import MlharnessError

__all__ = [
    "TEMPLATES_DIR",
    "Placement",
    "RenderedTree",
    "TemplateError",
    "render_tree",
]


def _templates_dir() -> Path:
    """templates/ as package data of an installed wheel (``harness/templates``), else beside
    the harness package in the repository (an editable install or a checkout)."""
    from importlib.resources import files

    packaged = Path(str(files("harness"))) / "templates"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "templates"


TEMPLATES_DIR = _templates_dir()

Placement = Literal["swap", "update"]
# Inside a staging directory: cookiecutter's output, its private config, the old tree.
_OUTPUT, _CONFIG, _PREVIOUS = "output", "config", "previous"


class TemplateError(MlharnessError):
    """The template itself failed to render (bad JSON, an undefined variable, a failing
    hook): cookiecutter's exception is the ``__cause__``."""


@dataclass(frozen=True)
class RenderedTree:
    """What a render made at ``path`` (or, for a dry run, would make).

    ``files`` are every rendered file, relative and sorted; ``created``/``changed``/
    ``unchanged`` sort them against what the target held; ``extra`` are the target's files
    the template does not render (``swap`` removes them, ``update`` keeps them)."""

    path: Path
    files: list[str]
    digest: str
    answers: dict[str, object]
    existed: bool
    dry_run: bool
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        """The target already held this tree, so nothing was (or would be) written."""
        return self.existed and not self.created and not self.changed and not self.extra


def render_tree(
    template: Path,
    context: Mapping[str, object],
    into: Path,
    *,
    name: str | None = None,
    placement: Placement = "swap",
    dry_run: bool = False,
    no_input: bool = True,
    accept_hooks: bool = False,
    user_config: bool = False,
    may_replace: Callable[[Path], None] | None = None,
    modes: Mapping[str, int] | None = None,
) -> RenderedTree:
    """Render ``template`` with ``context`` (cookiecutter's ``extra_context``) and put the
    tree at ``into / name`` (``name`` None: the name of the directory the template renders).

    ``may_replace(target)`` is called when the target exists, before anything is placed
    (also in a dry run), and raises to refuse it. ``modes`` gives rendered files a mode
    (``{".env": 0o600}``) before they are placed. ``user_config`` renders with the user's
    cookiecutter config (prompts, ``default_context``, the replay a user can reuse);
    otherwise a private config inside the staging directory, so nothing, the context
    included, is written outside it. Cookiecutter's exceptions become :class:`TemplateError`;
    others (a choice ``ValueError``, ``KeyboardInterrupt``) pass through, after the cleanup.
    """
    into = into.expanduser().absolute()
    if name is not None and may_replace is not None and (into / name).exists():
        may_replace(into / name)
    created_dirs = [] if dry_run else _make_dirs(into)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{name or 'mlharness'}.render-", dir=None if dry_run else into)
    )
    try:
        rendered, answers = _cookiecutter(
            template, context, staging, no_input, accept_hooks, user_config
        )
        target = into / (name or rendered.name)
        if name is None and may_replace is not None and target.exists():
            may_replace(target)
        for relative, mode in (modes or {}).items():
            if (rendered / relative).is_file():
                os.chmod(rendered / relative, mode)
        tree = _compare(rendered, target, answers, dry_run)
        if not dry_run and not tree.same:
            if placement == "swap":
                _swap(rendered, target, staging / _PREVIOUS)
            else:
                _update(rendered, target, tree.created + tree.changed)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for directory in reversed(created_dirs):
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise
    shutil.rmtree(staging, ignore_errors=True)
    return tree


def _cookiecutter(
    template: Path,
    context: Mapping[str, object],
    staging: Path,
    no_input: bool,
    accept_hooks: bool,
    user_config: bool,
) -> tuple[Path, dict[str, object]]:
    """Run cookiecutter into ``staging``; the rendered directory and the answers it used."""
    from cookiecutter.config import get_user_config
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.main import cookiecutter

    private = staging / _CONFIG
    config: bool | dict[str, object] = (
        False
        if user_config
        else {
            "cookiecutters_dir": str(private / "cookiecutters"),
            "replay_dir": str(private / "replay"),
        }
    )
    try:
        with _temporary_files_in(staging):
            result = cookiecutter(
                str(template),
                no_input=no_input,
                extra_context=dict(context),
                output_dir=str(staging / _OUTPUT),
                overwrite_if_exists=False,
                accept_hooks=accept_hooks,
                default_config=config,  # a dict is accepted too (merged with defaults)
            )
    except CookiecutterException as exc:
        raise TemplateError(f"template {template}: {exc}") from exc
    replay_dir = get_user_config()["replay_dir"] if user_config else private / "replay"
    return Path(result), _answers(Path(replay_dir), template)


@contextlib.contextmanager
def _temporary_files_in(directory: Path) -> Iterator[None]:
    """Point ``tempfile`` at ``directory`` for the duration of a render.

    Cookiecutter writes each rendered hook script to a temporary file it never deletes;
    rendering inside the staging directory means those files go when it goes.
    """
    previous = tempfile.tempdir
    tempfile.tempdir = str(directory)
    try:
        yield
    finally:
        tempfile.tempdir = previous


def _answers(replay_dir: Path, template: Path) -> dict[str, object]:
    """The public answers cookiecutter used, read back from the replay file it wrote.

    Informational (``mlharness new --json``): an unreadable replay is an empty mapping,
    not a failed render. Private ``_`` keys (whole contexts, secrets) are never returned.
    """
    from cookiecutter.replay import load

    try:
        context = load(str(replay_dir), template.absolute().name)["cookiecutter"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {k: v for k, v in context.items() if not str(k).startswith("_")}


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _same_file(a: Path, b: Path) -> bool:
    return (
        b.is_file()
        and os.access(a, os.X_OK) == os.access(b, os.X_OK)
        and a.read_bytes() == b.read_bytes()
    )


def _compare(
    rendered: Path, target: Path, answers: dict[str, object], dry_run: bool
) -> RenderedTree:
    """Sort the rendered files against what ``target`` holds now."""
    files = _files(rendered)
    existing = set(_files(target)) if target.is_dir() else set()
    tree = RenderedTree(
        path=target,
        files=files,
        digest=tree_digest(rendered),
        answers=answers,
        existed=target.exists(),
        dry_run=dry_run,
        extra=sorted(existing - set(files)),
    )
    for relative in files:
        if relative not in existing:
            tree.created.append(relative)
        elif _same_file(rendered / relative, target / relative):
            tree.unchanged.append(relative)
        else:
            tree.changed.append(relative)
    return tree


def _swap(rendered: Path, target: Path, aside: Path) -> None:
    """Put ``rendered`` at ``target``; the old tree goes ``aside`` (and comes back on failure)."""
    had_old = target.exists()
    if had_old:
        os.replace(target, aside)
    try:
        os.replace(rendered, target)
    except BaseException:
        if had_old:
            os.replace(aside, target)
        raise


def _update(rendered: Path, target: Path, relatives: list[str]) -> None:
    """Move each of ``relatives`` from ``rendered`` over its file in ``target`` (one atomic
    rename each; the staged file already has its final mode)."""
    for relative in relatives:
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(rendered / relative, destination)


def _make_dirs(path: Path) -> list[Path]:
    """Create ``path`` and its missing parents; the ones created, outermost first."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    missing.reverse()
    for directory in missing:
        directory.mkdir()
    return missing
