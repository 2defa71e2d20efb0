"""``mlharness config check`` / ``schema``: every problem at once, with key paths, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.config.operations import check_file, cron_problem, secret_problems
from tests.support.airflow import EXAMPLE, example, write_config
from tests.support.paths import TEMPLATES


def test_the_example_and_the_project_template_configs_pass(tmp_path: Path) -> None:
    report = check_file(EXAMPLE)
    assert report.ok, report.problems
    assert [s.name for s in report.config.steps] == ["train", "evaluate"]  # type: ignore[union-attr]
    # The mlflow-project template's pipeline.yaml, with its Jinja filled in, is the same schema.
    template = next((TEMPLATES / "mlflow-project").glob("*/pipeline.yaml")).read_text()
    (tmp_path / "MLproject").write_text(
        "name: p\nentry_points:\n  main:\n    parameters:\n      random_state: {type: int, "
        "default: 1}\n    command: python -c pass\n  evaluate:\n    parameters:\n      "
        "model_uri: {type: string}\n      data: {type: path}\n    command: python -c pass\n"
    )
    config = tmp_path / "pipeline.yaml"
    config.write_text(template.replace("{{ cookiecutter.project_slug }}", "p"))
    assert check_file(config).ok, check_file(config).problems


def test_param_types_missing_params_and_references(tmp_path: Path) -> None:
    data = example()
    data["steps"][0]["params"] = {"n_estimators": "many", "test_size": "a quarter"}
    data["steps"][1]["params"] = {"model_uri": "${steps.nope.model_uri}"}
    data["steps"].append({"name": "bad_ref", "params": {"max_depth": "${steps.train.oops}"}})
    data["model"]["from_step"] = "trainn"
    problems = check_file(write_config(tmp_path, data)).problems
    assert "steps[0].params.n_estimators: 'many' is not an int (int)" in problems
    assert "steps[0].params.test_size: 'a quarter' is not a float (float)" in problems
    assert (
        "steps[1].params: missing required parameter 'data' (path) of entry point 'evaluate'"
        in problems
    )
    assert "steps[1].params.model_uri: refers to unknown step 'nope'" in problems
    assert any(
        p.startswith("steps[2].params.max_depth: malformed step reference") for p in problems
    )
    assert "model.from_step: unknown step 'trainn' (did you mean 'train'?)" in problems


def test_a_cycle_through_step_references_is_found(tmp_path: Path) -> None:
    data = example()
    data["steps"][0]["params"] = {"max_depth": "${steps.evaluate.run_id}"}
    problems = check_file(write_config(tmp_path, data)).problems
    assert any(p.startswith("steps: depends_on has a cycle:") for p in problems), problems


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ({"tracking_uri": "postgresql://u:pw@h/db"}, True),
        ({"tracking_uri": "postgresql://u:${PGPASSWORD}@h/db"}, False),
        ({"tracking_uri": "conn:mlflow_default"}, False),
        ({"tracking_uri": "${MLFLOW_TRACKING_URI}"}, False),
        ({"db_password": "hunter2"}, True),
        ({"db_password": "${DB_PASSWORD}"}, False),
        ({"slack_api_url_file": "/run/secrets/slack"}, False),
        ({"notes": "ghp_" + "a" * 36}, True),
        ({"steps": [{"params": {"api_key": "k-123"}}]}, True),
        ({"max_tokens": 256, "token_count": 3}, False),
        ({"enabled": True, "port": 5000}, False),
    ],
)
def test_literal_secrets_are_refused(value: dict[str, object], literal: bool) -> None:
    assert bool(secret_problems(value)) is literal


@pytest.mark.parametrize(
    ("expression", "ok"),
    [
        ("@daily", True),
        ("@weekly", True),
        ("0 3 * * 1-5", True),
        ("*/15 * * * *", True),
        ("@fortnightly", False),
        ("61 * * * *", False),
        ("* * *", False),
        ("0 0 * * * *", False),
    ],
)
def test_schedules_are_presets_or_cron(expression: str, ok: bool) -> None:
    assert (cron_problem(expression) is None) is ok


def test_bad_yaml_and_a_missing_file_are_one_problem_each(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    assert check_file(bad).problems[0].startswith("not valid YAML")
    assert check_file(tmp_path / "missing.yaml").problems[0].startswith("cannot read the file")
    listing = tmp_path / "list.yaml"
    listing.write_text(yaml.safe_dump([1, 2]))
    assert check_file(listing).problems == ["expected a mapping of keys at the top level"]
