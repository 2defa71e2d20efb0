"""The pipeline config names real entry points and parameters; the DAG keeps its templates."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

DAG_FILE = ROOT / "dags" / "{{ cookiecutter.project_slug }}_pipeline.py"


def test_steps_use_entry_points_and_parameters_of_the_mlproject_file() -> None:
    config = yaml.safe_load((ROOT / "pipeline.yaml").read_text())
    entry_points = yaml.safe_load((ROOT / "MLproject").read_text())["entry_points"]
    assert [step["name"] for step in config["steps"]] == ["train", "evaluate"]
    for step in config["steps"]:
        declared = entry_points[step["entry_point"]]["parameters"]
        assert set(step["params"]) <= set(declared), step


def test_dag_file_compiles_and_keeps_airflow_templates() -> None:
    source = DAG_FILE.read_text()
    compile(source, str(DAG_FILE), "exec")
    assert "train-{% raw %}{{ ds }}{% endraw %}" in source
    assert "{% raw %}{{ ti.xcom_pull(task_ids='train') }}{% endraw %}" in source
