"""Shared by the template tests: an isolated cookiecutter home and the expected output.

Every test gets its own TMPDIR and a cookiecutter config whose replay and clone
directories are inside the test's tmp_path, so parallel workers never share state and
nothing is written to the real home directory.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.paths import TEMPLATES

TEMPLATE = TEMPLATES / "mlflow-project"
COOKIECUTTER_JSON = json.loads((TEMPLATE / "cookiecutter.json").read_text())
FAMILIES = ("sklearn-rf", "sklearn-gbm", "torch-mlp", "pyfunc-custom")
TASKS = ("classification", "regression")
# Airflow templates the DAG must keep, exactly as Airflow needs them.
AIRFLOW_EXPRESSIONS = ("{{ ds }}", "{{ ti.xcom_pull(task_ids='train') }}")


@contextmanager
def private_cookiecutter_home(home: Path) -> Iterator[Path]:
    """A private TMPDIR and cookiecutter config (replay_dir, cookiecutters_dir) under
    ``home`` while the block runs; the environment is put back after it."""
    scratch = home / "tmp"
    scratch.mkdir(parents=True)
    config = home / "config.yaml"
    config.write_text(
        f"cookiecutters_dir: {home / 'cookiecutters'}\nreplay_dir: {home / 'replay'}\n"
    )
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("COOKIECUTTER_CONFIG", str(config))
        monkeypatch.setenv("TMPDIR", str(scratch))
        monkeypatch.setattr(tempfile, "tempdir", str(scratch))
        yield home


@pytest.fixture
def cookiecutter_home(tmp_path: Path) -> Iterator[Path]:
    """A private TMPDIR and cookiecutter config (replay_dir, cookiecutters_dir) for one test."""
    with private_cookiecutter_home(tmp_path / "cookiecutter-home") as home:
        yield home


@dataclass(frozen=True)
class Options:
    """One combination of the template's choice options."""

    model_family: str
    task: str
    env_file: str
    include_tests: str
    include_airflow_pipeline: str

    @property
    def slug(self) -> str:
        return "_".join(
            [
                "p",
                self.model_family.replace("-", "_"),
                self.task[:5],
                self.env_file[:5],
                "t" if self.include_tests == "yes" else "n",
                "a" if self.include_airflow_pipeline == "yes" else "n",
            ]
        )

    def values(self) -> dict[str, str]:
        return {
            "project_name": f"Project {self.slug}",
            "project_slug": self.slug,
            "model_family": self.model_family,
            "task": self.task,
            "env_file": self.env_file,
            "include_tests": self.include_tests,
            "include_airflow_pipeline": self.include_airflow_pipeline,
        }


ALL_OPTIONS = [
    Options(*combination)
    for combination in itertools.product(
        FAMILIES, TASKS, ("python_env", "conda"), ("yes", "no"), ("yes", "no")
    )
]

PACKAGE_MODULES = (
    "__init__.py",
    "concurrent_logging.py",
    "data.py",
    "evaluate.py",
    "lineage.py",
    "metrics.py",
    "model.py",
    "params.py",
    "seeding.py",
    "train.py",
    "training.py",
)
PROJECT_TESTS = (
    "tests/conftest.py",
    "tests/test_data.py",
    "tests/test_model.py",
    "tests/test_params.py",
    "tests/test_training.py",
)


def expected_files(options: Options) -> set[str]:
    """Exactly the files a project with these options must contain."""
    slug = options.slug
    files = {
        ".gitignore",
        ".mlharness-template.json",
        "MLproject",
        "README.md",
        "pyproject.toml",
        "requirements.txt",
        "python_env.yaml" if options.env_file == "python_env" else "conda.yaml",
    }
    files |= {f"{slug}/{module}" for module in PACKAGE_MODULES}
    if options.model_family.startswith("sklearn-"):
        files.add(f"{slug}/skops_import.py")
    if options.include_tests == "yes":
        files |= set(PROJECT_TESTS)
    if options.include_airflow_pipeline == "yes":
        files |= {"pipeline.yaml", f"dags/{slug}_pipeline.py"}
        if options.include_tests == "yes":
            files.add("tests/test_pipeline.py")
    return files


def expected_parameters(model_family: str) -> list[str]:
    """The ``main`` entry point's parameter names, in order, for one model family."""
    own = {
        "sklearn-rf": ["n_estimators", "max_depth", "min_samples_leaf"],
        "sklearn-gbm": ["n_estimators", "learning_rate", "max_depth"],
        "torch-mlp": ["hidden_units", "epochs", "learning_rate", "batch_size"],
        "pyfunc-custom": ["alpha"],
    }[model_family]
    return [*own, "test_size", "random_state"]


def project_files(project: Path) -> set[str]:
    return {str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()}
