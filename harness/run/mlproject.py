"""The MLproject file: its schema, and a reader that refuses what MLflow would crash on.

MLflow's loader (``mlflow.projects._project_spec.load_project``) trusts the YAML it reads
(its own TODO says so): an empty file, ``entry_points`` given as a list, or a parameter
that is a number each end in an ``AttributeError`` deep inside it, a command with an
undeclared ``{placeholder}`` or a lone brace fails only at launch (after the run exists),
and a parameter of an unknown type is silently run as a string. :func:`check` reads the
file first, as text, as YAML and against the schema below, and reports every problem with
its key path (``entry_points.main.parameters.alpha.type: ...``) as one ``ConfigError``
(exit 2), so MLflow only ever sees a well-formed file.

Kept apart from ``harness.run.spec`` (and imported only when a project is read) because
pydantic is slow to import and a cached ``mlharness run`` never reads the MLproject.
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from pydantic_core import PydanticCustomError

from harness.kernel.errors import ConfigError
from harness.schemas.validation import validate

__all__ = ["PARAMETER_TYPES", "EntryPointSpec", "MLprojectFile", "ParameterSpec", "check", "find"]

# The parameter types MLflow knows (``mlflow.projects._project_spec.Parameter``).
PARAMETER_TYPES = ("string", "float", "int", "path", "uri")
ParameterType = Literal["string", "float", "int", "path", "uri"]
Scalar = str | int | float | bool | None


def _mapping(data: object, expected: str) -> object:
    if not isinstance(data, dict):
        raise PydanticCustomError(
            "mlproject_shape",
            "expected {expected}, got {got}",
            {"expected": expected, "got": type(data).__name__},
        )
    return data


class ParameterSpec(BaseModel):
    """One parameter: ``{type: int, default: 3}``, or just its type (``alpha: float``)."""

    model_config = ConfigDict(extra="forbid")

    type: ParameterType = "string"
    default: Scalar = None

    @field_validator("default", mode="before")
    @classmethod
    def _single_value(cls, value: object) -> object:
        if isinstance(value, list | dict):
            raise PydanticCustomError(
                "mlproject_default",
                "expected a single value (text, number or boolean), got {got}",
                {"got": type(value).__name__},
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _type_only(cls, data: object) -> object:
        # MLflow's short form: a bare string is the type, with no default.
        if isinstance(data, str):
            return {"type": data}
        return _mapping(data, "{type: ..., default: ...} or a type name")


class EntryPointSpec(BaseModel):
    """One entry point: its parameters and the command MLflow formats them into."""

    model_config = ConfigDict(extra="forbid")

    parameters: dict[str, ParameterSpec] = {}
    command: str

    @model_validator(mode="before")
    @classmethod
    def _is_mapping(cls, data: object) -> object:
        return _mapping(data, "{parameters: ..., command: ...}")

    @model_validator(mode="after")
    def _placeholders_are_parameters(self) -> EntryPointSpec:
        # MLflow fills the command with str.format(**parameters): an unbalanced brace or an
        # undeclared {name} would fail only at launch, after the run was created.
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(self.command) if f is not None]
        except ValueError as exc:
            raise PydanticCustomError(
                "mlproject_command",
                "command: {problem} (write a literal brace as {{ or }})",
                {"problem": str(exc)},
            ) from exc
        unknown = sorted({re.split(r"[.\[]", f)[0] for f in fields} - set(self.parameters))
        if unknown:
            raise PydanticCustomError(
                "mlproject_command",
                "command: placeholder {names} is not a declared parameter",
                {"names": ", ".join("{" + name + "}" for name in unknown)},
            )
        return self


class MLprojectFile(BaseModel):
    """The keys MLflow reads; others are left to MLflow (it ignores them)."""

    model_config = ConfigDict(extra="allow")

    name: str | None = None
    entry_points: dict[str, EntryPointSpec] = {}
    python_env: str | None = None
    conda_env: str | None = None
    docker_env: dict[str, object] | None = None
    databricks_spark_job: dict[str, object] | None = None


def find(project_dir: Path) -> Path | None:
    """The project's MLproject file; MLflow matches the name case-insensitively."""
    try:
        names = sorted(p.name for p in project_dir.iterdir())
    except OSError:
        return None
    found = next((name for name in names if name.lower() == "mlproject"), None)
    return project_dir / found if found else None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"not valid YAML: {problem}{where}"


def check(project_dir: Path) -> MLprojectFile | None:
    """The project's MLproject, validated (None when the directory has none: MLflow then
    runs it as an implicit project). Raises ``ConfigError`` naming the file."""
    path = find(project_dir)
    if path is None:
        return None
    where = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(where, [f"not UTF-8 text (byte {exc.start})"]) from exc
    except OSError as exc:
        raise ConfigError(where, [f"cannot read it: {exc.strerror or exc}"]) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(where, [_yaml_problem(exc)]) from exc
    if data is None:
        raise ConfigError(where, ["the file is empty (give it entry_points, or delete it)"])
    if not isinstance(data, dict):
        raise ConfigError(where, [f"(top level): expected a mapping, got {type(data).__name__}"])
    return validate(MLprojectFile, data, where)
