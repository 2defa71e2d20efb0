"""Validate a run request against the project's MLproject before anything is launched.

MLflow's own loader (``mlflow.projects._project_spec.load_project``) reads the file; this
module adds what ``mlflow run`` does not do: it checks every parameter's type, rejects
unknown names with a close-match suggestion, and reports every problem at once, so a
bad request fails in a second and writes nothing to the tracking store.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.kernel.errors import ParamError, SpecError
from harness.store import mlflow_api

__all__ = ["RunSpec", "build_run_spec", "load_project"]

# A value inside a double-quoted placeholder ("{x}") is still expanded by bash even after
# shlex.quote, so such values may not carry these characters.
_DOUBLE_QUOTE_UNSAFE = re.compile(r"[$`\\\"]")
_DOUBLE_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class RunSpec:
    """Project entry point with every parameter resolved (defaults filled, types checked)."""

    entry_point: str
    parameters: dict[str, str]
    param_types: dict[str, str]
    env_manager: str
    experiment_name: str | None
    run_name: str | None
    # Parameters of a script entry point (``-e train.py``: no declared types) whose value
    # names an existing local file or directory, as the absolute path the script reads.
    script_inputs: dict[str, str] = field(default_factory=dict)

    def input_params(self) -> dict[str, str]:
        """Parameters whose value names data: declared ``path``/``uri`` ones, and the local
        files and directories a script entry point is given. Their content enters the
        manifest and the cache key, so editing such a file is never answered from the cache.
        """
        declared = {
            name: value
            for name, value in self.parameters.items()
            if self.param_types.get(name) in {"path", "uri"}
        }
        return {**declared, **self.script_inputs}


def load_project(project_dir: Path) -> mlflow_api.MLflowProject:
    """MLflow's parsed MLproject (or the implicit project of a directory without one).

    The file is checked against ``harness.run.mlproject``'s schema first, so an empty, truncated
    or mistyped file ends in one ``error: <file>: <what>`` line (exit 2), never in MLflow's
    ``AttributeError``.
    """
    from harness.run import mlproject

    mlproject.check(project_dir)  # before importing mlflow: a bad file fails in ~0.1 s
    try:
        return mlflow_api.load_mlproject(project_dir)  # MLflow's refusal: SpecError
    except OSError as exc:
        raise SpecError(f"{project_dir}: cannot read the MLproject: {exc}") from exc


def _check_type(name: str, kind: str, value: str) -> str | None:
    """A problem with ``value`` for a parameter of type ``kind``, or None."""
    if kind == "int":
        try:
            int(value)
        except ValueError:
            return f"{name}: {value!r} is not an int"
    elif kind == "float":
        try:
            float(value)
        except ValueError:
            return f"{name}: {value!r} is not a float"
    elif kind == "path":
        local = mlflow_api.local_path_or_none(value)
        if local is not None and not os.path.exists(local):
            return f"{name}: path {value!r} does not exist"
    elif kind == "uri" and not mlflow_api.is_uri(value) and not os.path.exists(value):
        return f"{name}: {value!r} is not a URI or an existing path"
    return None


def _double_quoted_placeholders(command: str) -> set[str]:
    """Names of the ``{name}`` placeholders that sit inside double quotes in ``command``."""
    return {m.group(1) for q in _DOUBLE_QUOTED.findall(command) for m in _PLACEHOLDER.finditer(q)}


def _normalise(kind: str, value: str) -> str:
    """Values as the entry point will see them: local paths made absolute."""
    if kind == "path":
        local = mlflow_api.local_path_or_none(value)
        if local is not None:
            return os.path.abspath(local)
    return value


def _script_inputs(project_dir: Path, params: Mapping[str, str]) -> dict[str, str]:
    """Values that name an existing local file or directory, resolved as the script sees
    them: MLflow runs a script entry point in the project directory."""
    found: dict[str, str] = {}
    for name, value in params.items():
        local = mlflow_api.local_path_or_none(str(value)) if value else None
        if local is None:
            continue
        path = Path(local) if os.path.isabs(local) else project_dir / local
        if path.exists():
            found[name] = os.path.abspath(path)
    return found


def build_run_spec(
    project_dir: Path,
    entry_point: str,
    user_params: Mapping[str, str],
    *,
    env_manager: str | None,
    experiment_name: str | None = None,
    run_name: str | None = None,
) -> RunSpec:
    """Check ``entry_point`` and ``user_params`` against the MLproject; all problems at once."""
    project = load_project(project_dir)
    if env_manager is None:
        # What `mlflow run` would pick: virtualenv for python_env, conda for conda.yaml.
        env_manager = mlflow_api.default_env_manager(project)
    entry_points = project._entry_points or {}
    if entry_point not in entry_points:
        if entry_point.endswith((".py", ".sh")) and (project_dir / entry_point).is_file():
            return RunSpec(
                entry_point,
                dict(user_params),
                {},
                env_manager,
                experiment_name,
                run_name,
                script_inputs=_script_inputs(project_dir, user_params),
            )
        known = ", ".join(sorted(entry_points)) or "none"
        close = difflib.get_close_matches(entry_point, list(entry_points), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"entry points: {known}"
        raise SpecError(f"unknown entry point {entry_point!r} in {project_dir}", hint=hint)
    entry = entry_points[entry_point]
    declared = entry.parameters
    problems: list[str] = []
    for name in user_params:
        if name not in declared:
            close = difflib.get_close_matches(name, list(declared), n=1)
            suggestion = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"unknown parameter {name!r}{suggestion}")
    double_quoted = _double_quoted_placeholders(str(entry.command))
    resolved: dict[str, str] = {}
    types: dict[str, str] = {}
    for name, param in declared.items():
        types[name] = str(param.type)
        if name in user_params:
            value = str(user_params[name])
        elif param.default is not None:
            value = str(param.default)
        else:
            problems.append(f"missing required parameter {name!r} ({param.type})")
            continue
        problem = _check_type(name, str(param.type), value)
        if problem is None and name in double_quoted and _DOUBLE_QUOTE_UNSAFE.search(value):
            problem = f'{name}: value contains $, `, \\ or " inside a double-quoted placeholder'
        if problem:
            problems.append(problem)
        else:
            resolved[name] = _normalise(str(param.type), value)
    if problems:
        raise ParamError(problems, hint=f"entry point {entry_point!r} of {project_dir}")
    return RunSpec(entry_point, resolved, types, env_manager, experiment_name, run_name)
