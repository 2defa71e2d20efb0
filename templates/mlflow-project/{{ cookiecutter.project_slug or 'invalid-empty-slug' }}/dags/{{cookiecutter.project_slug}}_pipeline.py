{%- set slug = cookiecutter.project_slug -%}
"""Airflow DAG for {{ slug }}: train with ``mlflow run``, then evaluate.

The schedule and the train parameters come from ``pipeline.yaml`` in the project directory:
the parent of this file's folder, or the directory named by the environment variable
``PROJECT_DIR_VARIABLE`` below. The train task's last output line, its XCom, is the MLflow
run id and its model's ``models:/m-<id>`` URI; the evaluate task scores that model on the
run's own held-out rows.
``{% raw %}{{ ds }}{% endraw %}`` and the ``xcom_pull`` expressions are Airflow templates, rendered by Airflow
at run time.

This is the minimal DAG: ``mlharness airflow render pipeline.yaml -o OUT`` (OUT outside
the project) renders the full pipeline from the same file (steps through the harness with
manifests and the run cache, register, gated promotion, drift checks) and its stack.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pendulum
import yaml
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

PROJECT_DIR_VARIABLE = "{{ slug | upper }}_PROJECT_DIR"
PROJECT_DIR = Path(os.environ.get(PROJECT_DIR_VARIABLE) or Path(__file__).resolve().parent.parent)
CONFIG = yaml.safe_load((PROJECT_DIR / "pipeline.yaml").read_text())
STEPS = {step["name"]: step for step in CONFIG["steps"]}
# Defaults as in the pipeline config's schema (`mlharness config schema`).
EXPERIMENT = CONFIG.get("experiment_name") or CONFIG["name"]
RUN = (
    f"mlflow run {shlex.quote(str(PROJECT_DIR))}"
    f" --env-manager {shlex.quote(CONFIG.get('env_manager', 'local'))}"
    f" --experiment-name {shlex.quote(EXPERIMENT)}"
)


def _text(value: object) -> str:
    """A parameter as `mlharness run -P` gets it: booleans lower case."""
    return str(value).lower() if isinstance(value, bool) else str(value)


TRAIN_PARAMS = " ".join(
    f"-P {shlex.quote(f'{name}={_text(value)}')}"
    for name, value in STEPS["train"].get("params", {}).items()
)
# Airflow templates: kept out of f-strings so their braces reach Airflow unchanged.
{% raw -%}
# The train task's XCom, "<run id> models:/m-<model id>": bash splits it into $1 and $2.
TRAINED = "{{ ti.xcom_pull(task_ids='train') }}"
{%- endraw %}

with DAG(
    dag_id=f"{CONFIG['name']}_pipeline",
    schedule=CONFIG.get("schedule", "@daily"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["mlflow", "{{ slug }}"],
):
    train = BashOperator(
        task_id="train",
        # train.py prints "run_id=<id> model_uri=<uri> ..."; the last line printed (here
        # "<id> <uri>") becomes the XCom.
        bash_command=(
            RUN
            + " -e main --run-name train-{% raw %}{{ ds }}{% endraw %} "
            + TRAIN_PARAMS
            + " | tee /dev/stderr"
            + " | sed -n 's/^run_id=\\([0-9a-f]*\\) model_uri=\\([^ ]*\\).*/\\1 \\2/p' | tail -n 1"
        ),
    )
    evaluate = BashOperator(
        task_id="evaluate",
        bash_command=(
            "set -e; set -- "
            + TRAINED
            + '; dir=$(mktemp -d); mlflow artifacts download -u "runs:/$1/data/test.csv"'
            + ' -d "$dir" >/dev/null; '
            + RUN
            + " -e evaluate --run-name evaluate-{% raw %}{{ ds }}{% endraw %} "
            + '-P model_uri="$2" -P data="$dir/test.csv"'
        ),
    )
    train >> evaluate
