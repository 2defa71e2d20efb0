"""Imported by the zygote of ``tests/functional/templates/test_generated_projects.py`` (never by
a test): what the generated projects' own test runs pay for in every fork, done once before
the forks.

- MLflow's map of installed packages to modules (``importlib.metadata``'s
  ``packages_distributions``, ~1 CPU-s), built the first time a process logs or loads a model
  with pinned requirements;
- ``skops.io``, imported as the template's ``skops_import.import_skops`` imports it (torch and
  dask hidden from scikit-learn's estimator walk: the same text, harness.store.skops_import),
  before torch is imported here;
- torch, through ``mlflow.pytorch`` (~4 CPU-s), which the torch-mlp projects import.

Each project's ``mlflow run`` entry point is still a cold ``python -m <slug>.train`` started
by MLflow, which imports all this itself, as for a user.
"""

from __future__ import annotations

import importlib
import sys

from tests.support.paths import REPO

PRELOAD = (
    "mlflow",
    "mlflow.cli",
    "mlflow.projects",
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.pyfunc",
    "mlflow.sklearn",
    "mlflow.data.pandas_dataset",
    "pandas",
    "sklearn.datasets",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "sklearn.metrics",
    "sklearn.model_selection",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "pytest",
    "yaml",
)


def _warm() -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    from harness.store.skops_import import import_skops

    import_skops()
    importlib.import_module("mlflow.pytorch")
    from mlflow.utils import requirements_utils

    requirements_utils._init_packages_to_modules_map()


_warm()

# The zygote found this module through REPO on PYTHONPATH; a forked command's sys.path is
# a cold one's (its PYTHONPATH is the command's environment's).
sys.path.remove(str(REPO))
