"""A generated project run by ``mlharness run`` carries its template into the run manifest."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from harness.scaffold.project_template import create_project
from tests.support.mlflow_cli import cli_env
from tests.support.paths import MLHARNESS
from tests.support.templates import COOKIECUTTER_JSON

pytestmark = pytest.mark.functional


def test_mlharness_run_records_the_template_name_and_version(
    cookiecutter_home: Path, tracking_uri: str, tmp_path: Path
) -> None:
    created = create_project(
        output_dir=tmp_path,
        values={"project_name": "Recorded", "model_family": "pyfunc-custom"},
        no_input=True,
    )
    done = subprocess.run(
        [
            MLHARNESS,
            "run",
            str(created.project_dir),
            "--env-manager",
            "local",
            "--tracking-uri",
            tracking_uri,
        ],
        cwd=tmp_path,
        env=cli_env(tracking_uri),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    client = MlflowClient(tracking_uri)
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    local = client.download_artifacts(run.info.run_id, "mlharness/manifest.json", str(tmp_path))
    manifest = json.loads(Path(local).read_text())
    assert manifest["source"]["template"] == {
        "name": "mlflow-project",
        "version": COOKIECUTTER_JSON["_template_version"],
    }
