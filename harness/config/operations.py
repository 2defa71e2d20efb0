"""The checks of a pipeline config that the schema alone cannot make.

:func:`check_file` validates the file against the pipeline config model
(:class:`~harness.schemas.pipeline_config.PipelineConfig`)
and then, on the same pass, checks what needs more than the file: every step's entry point and
parameters against the project's MLproject (local projects), the step graph (unknown step names,
cycles), the cron expressions, and literal secrets anywhere in the file. Every problem is
reported at once with its key path, so one run of ``mlharness config check`` shows everything
to fix; :func:`checked` raises them as one :class:`ConfigError` (exit 2) for the commands that
render from the config.
"""

from __future__ import annotations

import difflib
import graphlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.kernel.errors import ConfigError, MlharnessError
from harness.schemas.pipeline_config import PipelineConfig, StepConfig, load

__all__ = [
    "PRESETS",
    "CheckReport",
    "StepRef",
    "check_file",
    "checked",
    "cron_problem",
    "graph_problems",
    "is_reference",
    "param_text",
    "project_problems",
    "secret_problems",
    "slo_problems",
    "step_refs",
    "upstream_of",
]

# Airflow's schedule presets (a cron expression is the other choice).
PRESETS = frozenset(
    {"@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly"}
    | {"@annually"}
)
_ENV_REF = re.compile(r"\$\{[A-Z_][A-Z0-9_]*\}")
_CONN_REF = re.compile(r"conn:[A-Za-z0-9_.\-]+")
_STEP_REF = re.compile(r"\$\{steps\.([A-Za-z][A-Za-z0-9_]*)\.(run_id|model_uri|artifact:([^}]+))\}")
_SECRET_KEY = re.compile(
    r"(password|passwd|passphrase|token|secret|api_?key|private_?key|access_?key|credential)",
    re.IGNORECASE,
)
# Keys whose value names where a secret is, not the secret itself.
_REFERENCE_KEY = re.compile(r"(_file|_env|_var|_conn|_conn_id)$", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://[^/@:\s]*:([^/@\s]+)@")
_TOKEN_SHAPES = re.compile(
    r"\b(ghp_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|sk-[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16})\b"
)
_ALIAS = re.compile(r"[A-Za-z0-9_\-]+")
_RESERVED_ALIAS = re.compile(r"(latest|v\d+)", re.IGNORECASE)
_HOW_TO_REFER = "write a ${ENV_VAR} reference or an Airflow connection conn:ID instead"


@dataclass(frozen=True)
class StepRef:
    """A parameter value that refers to an upstream step's run."""

    step: str
    what: str  # "run_id", "model_uri" or "artifact"
    artifact: str | None = None


@dataclass
class CheckReport:
    """Every problem found in one pipeline config (empty: the config is good)."""

    path: str
    config: PipelineConfig | None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.path,
            "ok": self.ok,
            "name": self.config.name if self.config and self.ok else None,
            "steps": [s.name for s in self.config.steps] if self.config and self.ok else [],
            "problems": list(self.problems),
            "notes": list(self.notes),
        }


def is_reference(value: str) -> bool:
    """True if ``value`` is exactly a ``${ENV_VAR}`` or ``conn:ID`` reference."""
    return bool(_ENV_REF.fullmatch(value) or _CONN_REF.fullmatch(value))


def step_refs(value: object) -> StepRef | None:
    """The upstream-step reference a parameter value is, or None for a literal."""
    if not isinstance(value, str):
        return None
    match = _STEP_REF.fullmatch(value.strip())
    if match is None:
        return None
    if match.group(3) is not None:
        return StepRef(match.group(1), "artifact", match.group(3).strip("/"))
    return StepRef(match.group(1), match.group(2))


def param_text(value: str | int | float | bool) -> str:
    """A YAML parameter value as ``mlharness run -P`` receives it (booleans lower case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def cron_problem(expression: str) -> str | None:
    """Why ``expression`` is neither an Airflow preset nor a valid cron expression, or None."""
    if expression.startswith("@"):
        if expression in PRESETS:
            return None
        known = ", ".join(sorted(PRESETS))
        return f"unknown schedule preset {expression!r} (presets: {known})"
    from croniter import croniter

    fields = expression.split()
    if len(fields) != 5 or not croniter.is_valid(expression):
        return f"{expression!r} is not a valid cron expression (5 fields: min hour day month dow)"
    return None


def _walk(data: object, path: str = "") -> Iterator[tuple[str, str, object]]:
    """(key path, last key, value) of every scalar in the raw YAML data."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            child = f"{path}.{key}" if path else str(key)
            if isinstance(value, Mapping | list):
                yield from _walk(value, child)
            else:
                yield child, str(key), value
    elif isinstance(data, list):
        for index, value in enumerate(data):
            child = f"{path}[{index}]"
            if isinstance(value, Mapping | list):
                yield from _walk(value, child)
            else:
                yield child, "", value


def secret_problems(data: object) -> list[str]:
    """Literal secrets anywhere in the raw file: secret-named keys, URL passwords, tokens."""
    problems = []
    for path, key, value in _walk(data):
        if not isinstance(value, str) or not value:
            continue  # a number or a flag is no secret (e.g. a max_tokens parameter)
        text = value
        if _SECRET_KEY.search(key) and not _REFERENCE_KEY.search(key) and not is_reference(text):
            problems.append(f"{path}: literal secret in a key named {key!r}; {_HOW_TO_REFER}")
            continue
        password = _URL_PASSWORD.match(text)
        if password and not _ENV_REF.fullmatch(password.group(1)):
            problems.append(f"{path}: URL holds a literal password; {_HOW_TO_REFER}")
        elif _TOKEN_SHAPES.search(text):
            problems.append(f"{path}: value looks like an access token; {_HOW_TO_REFER}")
    return problems


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def graph_problems(config: PipelineConfig) -> list[str]:
    """Duplicate or unknown step names and cycles; references add implicit edges."""
    problems = []
    names = [step.name for step in config.steps]
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            problems.append(f"steps[{index}].name: duplicate step name {name!r}")
        seen.add(name)
    graph: dict[str, set[str]] = {}
    for index, step in enumerate(config.steps):
        edges = graph.setdefault(step.name, set())
        for position, upstream in enumerate(step.depends_on):
            if upstream not in seen:
                problems.append(
                    f"steps[{index}].depends_on[{position}]: unknown step {upstream!r}"
                    + _did_you_mean(upstream, names)
                )
            else:
                edges.add(upstream)
        for param, value in step.params.items():
            ref = step_refs(value)
            if ref is None:
                if isinstance(value, str) and value.strip().startswith("${steps."):
                    problems.append(
                        f"steps[{index}].params.{param}: malformed step reference {value!r} "
                        "(use ${steps.NAME.run_id}, ${steps.NAME.model_uri} or "
                        "${steps.NAME.artifact:PATH})"
                    )
                continue
            if ref.step not in seen:
                problems.append(
                    f"steps[{index}].params.{param}: refers to unknown step {ref.step!r}"
                    + _did_you_mean(ref.step, names)
                )
            else:
                edges.add(ref.step)
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        cycle = list(exc.args[1])
        problems.append(f"steps: depends_on has a cycle: {' -> '.join(reversed(cycle))}")
    if config.model.from_step is not None and config.model.from_step not in seen:
        problems.append(
            f"model.from_step: unknown step {config.model.from_step!r}"
            + _did_you_mean(config.model.from_step, names)
        )
    return problems


def upstream_of(config: PipelineConfig, step: StepConfig) -> list[str]:
    """The steps ``step`` waits for: ``depends_on`` plus the steps its params refer to."""
    wanted = list(step.depends_on)
    for value in step.params.values():
        ref = step_refs(value)
        if ref is not None and ref.step not in wanted:
            wanted.append(ref.step)
    return wanted


def _check_value(kind: str, value: str) -> str | None:
    if kind == "int":
        try:
            int(value)
        except ValueError:
            return f"{value!r} is not an int"
    elif kind == "float":
        try:
            float(value)
        except ValueError:
            return f"{value!r} is not a float"
    return None


def project_problems(config: PipelineConfig, config_file: Path) -> tuple[list[str], list[str]]:
    """Entry points and params of every step against a local project's MLproject."""
    from harness.run.spec import load_project

    project_dir = config.project_dir(config_file)
    if project_dir is None:
        return [], ["git project: entry points and parameters are checked when a step runs"]
    if not project_dir.is_dir():
        return [f"project.path: {project_dir} is not a directory"], []
    try:
        project = load_project(project_dir)
    except MlharnessError as exc:
        return [f"project.path: {exc.one_line()}"], []
    entry_points: dict[str, Any] = getattr(project, "_entry_points", None) or {}
    problems = []
    for index, step in enumerate(config.steps):
        where = f"steps[{index}]"
        entry = entry_points.get(step.entry_point)
        if entry is None:
            if (
                step.entry_point.endswith((".py", ".sh"))
                and (project_dir / step.entry_point).is_file()
            ):
                continue
            known = sorted(entry_points)
            hint = _did_you_mean(step.entry_point, known) or f" (entry points: {', '.join(known)})"
            problems.append(f"{where}.entry_point: unknown entry point {step.entry_point!r}{hint}")
            continue
        declared: dict[str, Any] = dict(entry.parameters)
        for name, value in step.params.items():
            if name not in declared:
                problems.append(
                    f"{where}.params.{name}: unknown parameter"
                    + _did_you_mean(name, list(declared))
                )
                continue
            if step_refs(value) is not None:
                continue
            problem = _check_value(str(declared[name].type), param_text(value))
            if problem:
                problems.append(f"{where}.params.{name}: {problem} ({declared[name].type})")
        for name, param in declared.items():
            if name not in step.params and param.default is None:
                problems.append(
                    f"{where}.params: missing required parameter {name!r} ({param.type}) "
                    f"of entry point {step.entry_point!r}"
                )
    return problems, []


def _schedule_problems(config: PipelineConfig) -> list[str]:
    problems = []
    for where, expression in (
        ("schedule", config.schedule),
        ("monitoring.drift.schedule", config.monitoring.drift.schedule),
    ):
        if expression is not None:
            problem = cron_problem(expression)
            if problem:
                problems.append(f"{where}: {problem}")
    alias = config.promotion.alias
    if not _ALIAS.fullmatch(alias) or _RESERVED_ALIAS.fullmatch(alias):
        problems.append(
            f"promotion.alias: {alias!r} is not a valid alias "
            "(letters, digits, _ and -; not 'latest' or v<number>)"
        )
    return problems


def slo_problems(config: PipelineConfig) -> list[str]:
    """What the schema cannot see in the ``slo`` section (it needs the scrape interval too).
    A latency threshold off the histogram's bucket bounds is the schema's own error."""
    if config.slo is None:
        return []
    return config.slo.window_problems(config.monitoring.scrape_interval_s)


def _raw(path: Path) -> object:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None  # load() reports it


def _full_checks(config: PipelineConfig, path: Path) -> tuple[list[str], list[str]]:
    project, notes = project_problems(config, path)
    problems = graph_problems(config) + _schedule_problems(config) + slo_problems(config)
    return problems + project, notes


def check_file(path: Path) -> CheckReport:
    """Every problem of the config at ``path``; never raises for a problem in the file."""
    report = CheckReport(str(path), None)
    raw = _raw(path)
    secrets = secret_problems(raw)
    try:
        config = load(path)
    except ConfigError as exc:
        report.problems = list(exc.problems) + [p for p in secrets if p not in exc.problems]
        lenient = _without_unknown_keys(raw)
        if lenient is not None:
            more, report.notes = _full_checks(lenient, path)
            report.problems += [p for p in more if p not in report.problems]
        return report
    report.config = config
    more, report.notes = _full_checks(config, path)
    report.problems = secrets + more
    return report


def _without_unknown_keys(raw: object) -> PipelineConfig | None:
    """The config with every unknown key and bad parameter value dropped, if that validates.

    So unknown keys and, say, a cycle or an unknown entry point show up in one report
    instead of one after the other.
    """
    import copy

    from pydantic import ValidationError

    if not isinstance(raw, dict):
        return None
    data = copy.deepcopy(raw)
    try:
        PipelineConfig.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = list(error["loc"])
            is_param = len(loc) >= 4 and loc[0] == "steps" and loc[2] == "params"
            if error["type"] != "extra_forbidden" and not is_param:
                return None
            if is_param:
                loc = loc[:4]
            parent: Any = data
            try:
                for part in loc[:-1]:
                    parent = parent[part]
                del parent[loc[-1]]
            except (KeyError, IndexError, TypeError):
                return None
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError:
        return None


def checked(path: Path) -> PipelineConfig:
    """The config at ``path`` if every check passes; else ``ConfigError`` with every problem."""
    report = check_file(path)
    if not report.ok or report.config is None:
        raise ConfigError(str(path), report.problems)
    return report.config
