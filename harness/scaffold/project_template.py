"""Create a project from a cookiecutter template, all or nothing.

Cookiecutter does the rendering (prompts, hooks, Jinja) and :func:`harness.templating.render_tree`
makes it all or nothing (a staging directory beside the target, renamed into place); this
module adds what ``mlharness new`` promises on top: ``--set`` values checked against the
template's own ``cookiecutter.json`` before anything runs, an existing project directory
refused unless asked to replace it, and cookiecutter's exceptions (and a hook's ``error:``
lines) turned into one-line :class:`MlharnessError` messages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import PlainValidator, RootModel, ValidationError

from harness.kernel.assignments import parse_assignments as parse_pairs
from harness.kernel.errors import ExternalServiceError, MlharnessError, SourceError
from harness.schemas.validation import one_line, problems_of
from harness.templating import TEMPLATES_DIR, RenderedTree, TemplateError, render_tree

__all__ = [
    "DEFAULT_TEMPLATE",
    "TEMPLATES_DIR",
    "Created",
    "OptionError",
    "OutputExistsError",
    "Template",
    "TemplateError",
    "check_assignments",
    "create_project",
    "load_template",
    "parse_assignments",
    "resolved_template",
]


DEFAULT_TEMPLATE = TEMPLATES_DIR / "mlflow-project"
# What git servers say when the repository is missing (bad input, not an outage).
_MISSING_REPOSITORY = ("not found", "no such repository", "not exported", "does not exist")


class OutputExistsError(MlharnessError):
    """The project directory already exists and ``overwrite`` was not asked for."""


class OptionError(MlharnessError):
    """One or more template options (``--set`` values or answers) are invalid."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid template options: " + "; ".join(self.problems))


@dataclass(frozen=True)
class Template:
    """A local template directory and the variables its ``cookiecutter.json`` declares."""

    source: str
    directory: Path
    variables: dict[str, object]

    def public(self) -> dict[str, object]:
        """Variables a user may set: not ``_private`` and not ``__prompts__``-style keys."""
        return {k: v for k, v in self.variables.items() if not k.startswith("_")}


@dataclass(frozen=True)
class Created:
    """What ``create_project`` made (or, for a dry run, would make)."""

    project_dir: Path
    template: str
    context: dict[str, object]
    files: list[str] = field(default_factory=list)
    dry_run: bool = False
    replaced: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "project_dir": str(self.project_dir),
            "template": self.template,
            "context": self.context,
            "files": self.files,
            "dry_run": self.dry_run,
            "replaced": self.replaced,
        }


def parse_assignments(pairs: Sequence[str]) -> dict[str, str]:
    """``--set k=v ...`` -> ``{"k": "v"}`` through the kernel's one ``KEY=VALUE`` parser
    (every malformed pair at once, as an ``AssignmentError`` naming ``--set``)."""
    return parse_pairs(pairs, option="--set")


def _public_value(value: object) -> object:
    """What a user-settable variable of ``cookiecutter.json`` may hold."""
    if value is None:
        raise ValueError(
            "null is not a template value (give a string, a list of choices, a "
            "boolean or a mapping)"
        )
    if isinstance(value, list):
        if not value:
            raise ValueError("an empty list of choices")
        if not all(isinstance(c, str | int | float | bool) for c in value):
            raise ValueError("choices must be strings, numbers or booleans")
    elif not isinstance(value, str | int | float | bool | dict):
        raise ValueError(f"{type(value).__name__} is not a template value")
    return value


def _prompt(value: object) -> object:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return value
    raise ValueError("a prompt is a string, or a mapping of choice to prompt string")


class _PublicVariables(RootModel[dict[str, Annotated[object, PlainValidator(_public_value)]]]):
    """The variables ``--set`` may set (private ``_`` keys are the template's own business)."""


class _Prompts(RootModel[dict[str, Annotated[object, PlainValidator(_prompt)]]]):
    """``__prompts__``: the question asked for each variable."""


def _template_problems(variables: dict[str, object]) -> list[str]:
    """Every problem of a template's variables, with its key path."""
    problems: list[str] = []
    public = {k: v for k, v in variables.items() if not k.startswith("_")}
    try:
        _PublicVariables.model_validate(public)
    except ValidationError as exc:
        problems += problems_of(exc)
    if "__prompts__" in variables:
        try:
            _Prompts.model_validate(variables["__prompts__"])
        except ValidationError as exc:
            problems += [f"__prompts__.{p}" for p in problems_of(exc)]
    return problems


def check_assignments(template: Template, values: Mapping[str, str]) -> None:
    """Refuse keys the template does not declare and values outside a choice list."""
    public = template.public()
    problems: list[str] = []
    for key, value in values.items():
        if key not in public:
            accepted = ", ".join(public)
            problems.append(f"--set {key}: unknown option; accepted: {accepted}")
            continue
        choices = public[key]
        if isinstance(choices, list) and value not in [str(c) for c in choices]:
            problems.append(
                f"--set {key}={value}: not a choice; accepted: {', '.join(map(str, choices))}"
            )
    if problems:
        raise OptionError(problems)


def load_template(directory: Path, source: str | None = None) -> Template:
    """Read a local template's ``cookiecutter.json``."""
    manifest = directory / "cookiecutter.json"
    if not manifest.is_file():
        raise SourceError(
            f"template {source or directory}: no cookiecutter.json in {directory}",
            hint="pass a cookiecutter template directory or Git URL",
        )
    name = source or directory
    try:
        variables = json.loads(manifest.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TemplateError(f"template {name}: {manifest}: {one_line(exc)}") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise TemplateError(f"template {name}: {manifest}: not JSON: {one_line(exc)}") from None
    if not isinstance(variables, dict):
        raise TemplateError(
            f"template {name}: {manifest}: (top level): expected a JSON object, got "
            f"{type(variables).__name__}"
        )
    problems = _template_problems(variables)
    if problems:
        raise TemplateError(
            f"template {name}: {manifest}: {len(problems)} problem(s): " + "; ".join(problems)
        )
    return Template(source or str(directory), directory, variables)


@contextmanager
def resolved_template(
    source: str | None, *, checkout: str | None = None, directory: str | None = None
) -> Iterator[Template]:
    """A local template for ``source``: the default, a directory, or a cloned Git URL.

    A Git URL is cloned with cookiecutter's own ``vcs.clone`` into a temporary directory
    that is removed afterwards, so the ``--set`` check can read its ``cookiecutter.json``
    before rendering and nothing is left in the user's cookiecutter cache.
    """
    from cookiecutter import exceptions as cc
    from cookiecutter.repository import is_repo_url
    from cookiecutter.vcs import clone

    if source is None:
        if not DEFAULT_TEMPLATE.is_dir():
            raise SourceError(
                f"default template not found at {DEFAULT_TEMPLATE}",
                hint="install mlharness from its repository (pip install -e .) or pass a template",
            )
        yield load_template(_subdir(DEFAULT_TEMPLATE, directory), str(DEFAULT_TEMPLATE))
        return
    if is_repo_url(source):
        with tempfile.TemporaryDirectory(prefix="mlharness-template-") as scratch:
            try:
                repo = clone(source, checkout=checkout, clone_to_dir=scratch, no_input=True)
            except (cc.RepositoryNotFound, cc.RepositoryCloneFailed) as exc:
                raise SourceError(f"template {source}: {exc}") from None
            except cc.VCSNotInstalled as exc:
                raise SourceError(f"template {source}: {exc}", hint="install git") from None
            except subprocess.CalledProcessError as exc:
                output = exc.output.decode(errors="replace") if exc.output else ""
                detail = _last_line(output) or str(exc)
                if any(sign in output.lower() for sign in _MISSING_REPOSITORY):
                    raise SourceError(f"template {source}: {detail}") from None
                raise ExternalServiceError(
                    f"template {source}: git clone failed: {detail}"
                ) from None
            yield load_template(_subdir(Path(repo), directory, source), source)
        return
    path = Path(source).expanduser()
    if not path.is_dir():
        raise SourceError(
            f"template {source}: not a directory or a Git URL",
            hint="pass a template directory, or a git://, https:// or git+... URL",
        )
    yield load_template(_subdir(path.resolve(), directory, source), source)


def _subdir(root: Path, directory: str | None, source: str | None = None) -> Path:
    if not directory:
        return root
    path = (root / directory).resolve()
    if not path.is_dir() or not path.is_relative_to(root.resolve()):
        raise SourceError(f"template {source or root}: no directory {directory!r} in it")
    return path


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


@contextmanager
def _captured_stderr() -> Iterator[list[str]]:
    """Collect what hooks (child processes) and cookiecutter write to file descriptor 2.

    Hooks inherit the descriptor, so redirecting ``sys.stderr`` would not catch them.
    The lines are available in the yielded list once the block ends.
    """
    lines: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(sink.read().decode(errors="replace").splitlines())


def _hook_problems(lines: Sequence[str]) -> list[str]:
    """The ``error: ...`` lines a failing hook printed, without the prefix."""
    return [line.strip()[len("error:") :].strip() for line in lines if line.startswith("error:")]


def _render(
    template: Template, output_dir: Path, values: Mapping[str, str], options: _Options
) -> RenderedTree:
    """Render through the one atomic renderer; cookiecutter's failures as one line each."""
    try:
        with _captured_stderr() as lines:
            tree = render_tree(
                template.directory,
                values,
                output_dir,
                dry_run=options.dry_run,
                no_input=options.no_input,
                accept_hooks=True,
                user_config=True,
                may_replace=None if options.overwrite else _refuse,
            )
    except TemplateError as failed:
        raise _one_line(template, failed.__cause__, lines) from None
    except ValueError as exc:  # cookiecutter's own check of a choice value
        raise OptionError([str(exc)]) from None
    sys.stderr.write("\n".join(lines) + ("\n" if lines else ""))
    return tree


def _one_line(template: Template, cause: BaseException | None, lines: list[str]) -> MlharnessError:
    """What a failed render says: the hook's own ``error:`` lines, or cookiecutter's error."""
    from cookiecutter import exceptions as cc

    if isinstance(cause, cc.FailedHookException):
        problems = _hook_problems(lines)
        if problems:
            return OptionError(problems)
        return TemplateError(
            f"template {template.source}: a hook failed: {_last_line(chr(10).join(lines))}"
        )
    if isinstance(cause, cc.UndefinedVariableInTemplate):
        return TemplateError(f"template {template.source}: {cause.message}: {cause.error.message}")
    if isinstance(cause, cc.OutputDirExistsException):
        # The staging directory is fresh, so only an empty project directory name gets here.
        return TemplateError(
            f"template {template.source}: the project directory name rendered empty",
            hint="set the option it is made from, e.g. --set project_name=...",
        )
    return TemplateError(f"template {template.source}: {cause}")


@dataclass(frozen=True)
class _Options:
    no_input: bool
    overwrite: bool
    dry_run: bool


def _refuse(target: Path) -> None:
    raise OutputExistsError(
        f"output directory {target} already exists",
        hint="choose another -o DIR or project_slug, or pass --overwrite to replace it",
    )


def create_project(
    template: str | None = None,
    *,
    output_dir: Path = Path("."),
    values: Mapping[str, str] | None = None,
    no_input: bool = False,
    overwrite: bool = False,
    dry_run: bool = False,
    checkout: str | None = None,
    directory: str | None = None,
) -> Created:
    """Render ``template`` into ``output_dir/<project dir>``; nothing is left on failure."""
    values = dict(values or {})
    with resolved_template(template, checkout=checkout, directory=directory) as resolved:
        check_assignments(resolved, values)
        tree = _render(resolved, output_dir, values, _Options(no_input, overwrite, dry_run))
    return Created(
        tree.path, resolved.source, tree.answers, tree.files, dry_run, replaced=tree.existed
    )
