"""Render every combination of the template's options and check the output statically.

64 renders: exact file set, no Jinja left over (the DAG keeps exactly its Airflow
templates), every Python file compiles and passes ruff, MLproject loads with MLflow's
own loader and declares the family's parameters with typed defaults.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml

from harness.scaffold.project_template import create_project
from tests.support.paths import VENV_BIN
from tests.support.templates import (
    AIRFLOW_EXPRESSIONS,
    ALL_OPTIONS,
    COOKIECUTTER_JSON,
    TEMPLATE,
    Options,
    expected_files,
    expected_parameters,
    project_files,
)

RUFF_RULES = "E,F,W,I,B,UP,SIM,RUF"  # the repository's own rule set (pyproject.toml)


class _TaskInstance:
    """What Airflow passes as ``ti``: here only ``xcom_pull`` is needed."""

    def xcom_pull(self, task_ids: str) -> str:
        return f"<xcom of {task_ids}>"


def _airflow_templates_render(dag: Path) -> None:
    """Airflow renders with Jinja2: the DAG's templates must survive as Airflow expects."""
    source = dag.read_text()
    assert "--run-name train-{{ ds }} " in source
    rendered = (
        jinja2.Environment(undefined=jinja2.StrictUndefined)
        .from_string(source)
        .render(ds="2026-01-02", ti=_TaskInstance())
    )
    assert "--run-name train-2026-01-02 " in rendered
    assert "--run-name evaluate-2026-01-02 " in rendered
    assert 'TRAINED = "<xcom of train>"' in rendered and 'model_uri="$2"' in rendered


def _ruff(project: Path, command: str, *args: str) -> None:
    """``ruff <command>`` on the project with the repository's settings, not the project's."""
    done = subprocess.run(
        [
            str(VENV_BIN / "ruff"),
            command,
            "--isolated",
            "--no-cache",
            "--line-length",
            "100",
            "--target-version",
            "py311",
            *args,
            ".",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("options", ALL_OPTIONS, ids=lambda o: o.slug)
def test_every_combination_renders_clean(
    options: Options, cookiecutter_home: Path, tmp_path: Path
) -> None:
    created = create_project(
        str(TEMPLATE), output_dir=tmp_path / "out", values=options.values(), no_input=True
    )
    project = created.project_dir
    assert project == tmp_path / "out" / options.slug
    assert project_files(project) == expected_files(options)
    assert sorted(created.files) == sorted(expected_files(options))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [options.slug]

    dag = project / "dags" / f"{options.slug}_pipeline.py"
    for path in project.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text()
        if path.name in {dag.name, "test_pipeline.py"}:
            for expression in AIRFLOW_EXPRESSIONS:
                text = text.replace(expression, "")
        for marker in ("{{", "}}", "{%", "%}", "{#"):
            assert marker not in text, f"{path.relative_to(project)} keeps {marker!r}"
        if path.suffix == ".py":
            compile(path.read_text(), str(path), "exec")
    if dag.exists():
        _airflow_templates_render(dag)

    _ruff(project, "check", "--select", RUFF_RULES)
    _ruff(project, "format", "--check")

    from mlflow.projects._project_spec import load_project

    spec = load_project(str(project))
    assert spec.name == options.slug
    assert spec.env_type == {"python_env": "python_env", "conda": "conda_env"}[options.env_file]
    assert Path(spec.env_config_path).name == f"{options.env_file}.yaml"
    main = spec.get_entry_point("main")
    assert list(main.parameters) == expected_parameters(options.model_family)
    declared = COOKIECUTTER_JSON["_parameters"]
    for parameter in declared[options.model_family] + declared["common"]:
        assert main.parameters[parameter["name"]].type == parameter["type"]
        assert main.parameters[parameter["name"]].default == parameter["default"]
    command = main.compute_command({}, storage_dir=None)
    assert command.startswith(f"python -m {options.slug}.train ")
    evaluate = spec.get_entry_point("evaluate")
    assert {n: p.type for n, p in evaluate.parameters.items()} == {
        "model_uri": "string",
        "data": "path",
    }

    record = json.loads((project / ".mlharness-template.json").read_text())
    assert record == {"name": "mlflow-project", "version": COOKIECUTTER_JSON["_template_version"]}

    readme = (project / "README.md").read_text()
    for name in expected_parameters(options.model_family):
        assert f"| `{name}` |" in readme

    requirements = [
        line
        for line in (project / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    env = yaml.safe_load(Path(spec.env_config_path).read_text())
    if options.env_file == "python_env":
        assert env["python"] == "3.11.7"
        assert env["dependencies"] == requirements
    else:
        assert "python=3.11.7" in env["dependencies"]
        assert env["dependencies"][-1]["pip"] == requirements
    assert ("torch==2.13.0" in requirements) == (options.model_family == "torch-mlp")
