"""Check the answers before cookiecutter writes a single project file.

Cookiecutter renders this script with the answers, then runs it inside the (still empty)
project directory; a non-zero exit makes cookiecutter delete that directory again. Every
problem is printed as one ``error:`` line naming the option, so both plain ``cookiecutter``
and ``mlharness new`` show what to fix.
"""

from __future__ import annotations

import json
import keyword
import sys

# Rendered by cookiecutter: the answers as JSON, encoded twice so any text is a safe literal.
CONTEXT: dict[str, object] = json.loads({{ cookiecutter | jsonify | jsonify }})

CHOICES = {
    "model_family": ("sklearn-rf", "sklearn-gbm", "torch-mlp", "pyfunc-custom"),
    "task": ("classification", "regression"),
    "env_file": ("python_env", "conda"),
    "include_tests": ("yes", "no"),
    "include_airflow_pipeline": ("yes", "no"),
}
# Names the package must not take: it sits first on sys.path when the project runs.
RESERVED = {"tests", "dags", "mlflow", "sklearn", "torch", "pandas", "numpy", "scipy", "skops"}


def problems(context: dict[str, object]) -> list[str]:
    """Every invalid answer, each as one line that says what is accepted."""
    found: list[str] = []
    name = str(context.get("project_name", "")).strip()
    if not name:
        found.append("project_name is empty; accepted: any non-empty text")
    slug = str(context.get("project_slug", ""))
    if not slug.isidentifier() or not slug.isascii():
        found.append(
            f"project_slug {slug!r} is not a valid Python identifier; accepted: ASCII letters, "
            "digits and underscores, not starting with a digit (set project_slug=...)"
        )
    elif keyword.iskeyword(slug) or keyword.issoftkeyword(slug):
        found.append(f"project_slug {slug!r} is a Python keyword; choose another name")
    elif slug in RESERVED or slug in sys.stdlib_module_names:
        found.append(
            f"project_slug {slug!r} would shadow the module {slug!r} the project needs; "
            "choose another name"
        )
    if slug.startswith("_"):
        found.append(f"project_slug {slug!r} starts with an underscore; start with a letter")
    for option, accepted in CHOICES.items():
        value = context.get(option)
        if value not in accepted:
            found.append(f"{option} {value!r} is not accepted; accepted: {', '.join(accepted)}")
    return found


def main() -> int:
    found = problems(CONTEXT)
    for problem in found:
        sys.stderr.write(f"error: {problem}\n")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
