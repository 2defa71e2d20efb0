"""Remove what the chosen options do not need, and put the chosen model module in place.

Cookiecutter runs this script inside the freshly rendered project directory.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

CONTEXT: dict[str, str] = json.loads({{ cookiecutter | jsonify | jsonify }})

# model_family -> the module under <slug>/_families/ that becomes <slug>/model.py
FAMILY_MODULES = {
    "sklearn-rf": "sklearn_estimator.py",
    "sklearn-gbm": "sklearn_estimator.py",
    "torch-mlp": "torch_mlp.py",
    "pyfunc-custom": "pyfunc_custom.py",
}


def unwanted(context: dict[str, str]) -> list[str]:
    """Paths (relative to the project) the chosen options do not use."""
    paths = ["conda.yaml" if context["env_file"] == "python_env" else "python_env.yaml"]
    if FAMILY_MODULES[context["model_family"]] != "sklearn_estimator.py":
        paths.append(f"{context['project_slug']}/skops_import.py")  # only skops models use it
    if context["include_tests"] != "yes":
        paths.append("tests")
    if context["include_airflow_pipeline"] != "yes":
        paths += ["pipeline.yaml", "dags", "tests/test_pipeline.py"]
    return paths


def main() -> int:
    root = Path.cwd()
    package = root / CONTEXT["project_slug"]
    families = package / "_families"
    (families / FAMILY_MODULES[CONTEXT["model_family"]]).replace(package / "model.py")
    shutil.rmtree(families)
    for relative in unwanted(CONTEXT):
        path = root / relative
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
