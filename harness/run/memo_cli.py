"""``mlharness run`` answered from the run memo before typer is built.

typer 0.29 coerces every option through a pydantic ``TypeAdapter``: building the ``run``
command imports pydantic and rich and costs more CPU than the whole memo answer (about
0.25 s of a 0.45 s cached run on an idle machine). This module reads the ``run`` arguments
with the standard library, only in the plain forms typer reads the same way, and asks the
memo (``run_memo``). Anything else (an unknown option, ``--help``, ``--json``, ``--force``,
``--dry-run``, ``--version``, ``--require-clean``, a joined short option, ``--``, a missing
value, a value that starts with ``-``, a malformed ``-P``) returns None and typer parses the
command as always, so every error and every non-cached answer keeps its one code path.
"""

from __future__ import annotations

from harness.run import run_memo

__all__ = ["ENV_MANAGERS", "cached_line", "parse_run_args"]

ENV_MANAGERS = frozenset({"local", "uv", "virtualenv", "conda"})  # cli.EnvManager's values
# Options taking one value, by every spelling typer accepts, -> the Request field.
_VALUED = {
    "-e": "entry_point",
    "--entry-point": "entry_point",
    "-P": "param",
    "--param": "param",
    "--env-manager": "env_manager",
    "--experiment-name": "experiment_name",
    "--run-name": "run_name",
    "--tracking-uri": "tracking_uri",
}


def parse_run_args(args: list[str]) -> run_memo.Request | None:
    """The memo request of ``mlharness run ARGS``, or None when typer must parse them."""
    project: str | None = None
    values: dict[str, str] = {}
    params: dict[str, str] = {}
    i = 0
    while i < len(args):
        token = args[i]
        if not token.startswith("-"):
            if project is not None:
                return None  # a second argument: typer's usage error
            project = token
            i += 1
            continue
        name, eq, value = token.partition("=")
        field = _VALUED.get(name)
        if field is None or (eq and not name.startswith("--")):
            return None  # a flag, --help, an unknown or joined option
        if not eq:
            if i + 1 >= len(args):
                return None
            value = args[i + 1]
            i += 1
        i += 1
        if value.startswith("-"):
            return None
        if field == "param":
            key, sep, val = value.partition("=")
            if not sep or not key.strip():
                return None  # typer path reports the malformed pair
            params[key.strip()] = val
        elif field in values:
            return None  # a repeated single-valued option: let typer decide
        else:
            values[field] = value
    if project is None:
        return None
    env_manager = values.get("env_manager")
    if env_manager is not None and env_manager not in ENV_MANAGERS:
        return None
    return run_memo.Request(
        project,
        values.get("entry_point", "main"),
        params,
        env_manager,
        values.get("experiment_name"),
        values.get("tracking_uri"),
    )


def cached_line(args: list[str]) -> str | None:
    """``cached: <run id>`` when the memo answers ``mlharness run ARGS``; else None."""
    request = parse_run_args(args)
    if request is None:
        return None
    found = run_memo.probe(request)
    hit = run_memo.answer(found) if found is not None else None
    return f"cached: {hit.run_id}" if hit is not None else None
