"""``harness.scaffold.project_template``: option checks, all-or-nothing placement, errors as one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.kernel.assignments import AssignmentError
from harness.kernel.errors import ExitCode, SourceError
from harness.scaffold.project_template import (
    OptionError,
    OutputExistsError,
    TemplateError,
    create_project,
    load_template,
    parse_assignments,
)
from tests.support.paths import REPO
from tests.support.templates import COOKIECUTTER_JSON, TEMPLATE, project_files


def test_parse_assignments_splits_on_the_first_equals_sign() -> None:
    assert parse_assignments(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}


def test_parse_assignments_reports_every_malformed_pair() -> None:
    with pytest.raises(AssignmentError) as exc:
        parse_assignments(["project_name", "=x", "ok=1"])
    assert exc.value.problems == [
        "--set 'project_name' is not KEY=VALUE",
        "--set '=x' is not KEY=VALUE",
    ]
    assert exc.value.exit_code == ExitCode.BAD_INPUT


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "cookiecutter.json: not JSON: Expecting value"),
        (b'{"project_name": "x", "task": ["a", ', "cookiecutter.json: not JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\xff", "cookiecutter.json: not JSON"),
        (b'["project_name"]', "(top level): expected a JSON object, got list"),
        (
            b'{"project_name": null, "task": [], "kind": [{"a": 1}], "__prompts__": {"x": 1}}',
            "cookiecutter.json: 4 problem(s): project_name: Value error, null is not a template "
            "value",
        ),
    ],
)
def test_a_bad_cookiecutter_json_is_one_line_with_key_paths(
    content: bytes, message: str, tmp_path: Path
) -> None:
    (tmp_path / "cookiecutter.json").write_bytes(content)
    with pytest.raises(TemplateError) as exc:
        load_template(tmp_path)
    text = exc.value.one_line()
    assert message in text and "\n" not in text
    if b"__prompts__" in content:
        for path in (
            "task: Value error, an empty list",
            "kind: Value error, choices",
            "__prompts__.x",
        ):
            assert path in text, text


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"project_slug": "my-project"}, "project_slug 'my-project' is not a valid Python"),
        ({"project_name": "3D model"}, "project_slug '3d_model' is not a valid Python identifier"),
        ({"project_slug": "class"}, "project_slug 'class' is a Python keyword"),
        ({"project_slug": "json"}, "project_slug 'json' would shadow the module 'json'"),
        ({"project_slug": "_hidden"}, "project_slug '_hidden' starts with an underscore"),
        ({"project_name": ""}, "project_name is empty"),
        ({"project_name": "   "}, "project_name is empty"),
        (
            {"model_family": "xgboost"},
            "--set model_family=xgboost: not a choice; accepted: "
            "sklearn-rf, sklearn-gbm, torch-mlp, pyfunc-custom",
        ),
        ({"task": "ranking"}, "--set task=ranking: not a choice"),
        ({"include_tests": "maybe"}, "--set include_tests=maybe: not a choice; accepted: yes, no"),
        ({"no_such_option": "1"}, "--set no_such_option: unknown option; accepted: project_name,"),
        ({"_template_version": "9.9"}, "--set _template_version: unknown option"),
    ],
)
def test_an_invalid_option_gives_its_message_and_no_output(
    values: dict[str, str], message: str, cookiecutter_home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "nested"
    with pytest.raises(OptionError) as exc:
        create_project(str(TEMPLATE), output_dir=out, values=values, no_input=True)
    assert message in exc.value.one_line()
    assert "\n" not in exc.value.one_line()
    assert exc.value.exit_code == ExitCode.BAD_INPUT
    assert not (tmp_path / "out").exists()


def test_an_existing_project_is_refused_then_replaced_with_overwrite(
    cookiecutter_home: Path, tmp_path: Path
) -> None:
    values = {"project_name": "Twice"}
    first = create_project(output_dir=tmp_path, values=values, no_input=True)
    assert first.project_dir == tmp_path / "twice"
    (first.project_dir / "my-notes.txt").write_text("keep me")

    with pytest.raises(OutputExistsError) as exc:
        create_project(output_dir=tmp_path, values=values, no_input=True)
    assert exc.value.exit_code == ExitCode.BAD_INPUT
    assert "--overwrite" in exc.value.one_line()
    assert (first.project_dir / "my-notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cookiecutter-home", "twice"]

    again = create_project(
        output_dir=tmp_path,
        values={**values, "model_family": "pyfunc-custom"},
        no_input=True,
        overwrite=True,
    )
    assert again.replaced
    assert not (again.project_dir / "my-notes.txt").exists()
    assert "class TabularModel" in (again.project_dir / "twice" / "model.py").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cookiecutter-home", "twice"]


def test_dry_run_writes_nothing_and_lists_the_files(
    cookiecutter_home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    plan = create_project(
        output_dir=out, values={"project_name": "Plan Only"}, no_input=True, dry_run=True
    )
    assert plan.dry_run
    assert plan.project_dir == out / "plan_only"
    assert "plan_only/model.py" in plan.files
    assert plan.context["project_slug"] == "plan_only"
    assert not out.exists()
    assert list((cookiecutter_home / "tmp").iterdir()) == []


def test_answers_are_reported(cookiecutter_home: Path, tmp_path: Path) -> None:
    created = create_project(
        output_dir=tmp_path, values={"project_name": "Ans", "task": "regression"}, no_input=True
    )
    public = {k for k in COOKIECUTTER_JSON if not k.startswith("_")}
    assert set(created.context) == public
    assert created.context["task"] == "regression"
    assert created.to_dict()["project_dir"] == str(tmp_path / "ans")


def _broken_copy(tmp_path: Path, relative: str, content: str) -> Path:
    template = tmp_path / "broken-template"
    shutil.copytree(TEMPLATE, template)
    (template / relative).write_text(content)
    return template


def test_an_undefined_variable_leaves_no_partial_directory(
    cookiecutter_home: Path, tmp_path: Path
) -> None:
    project = "{{ cookiecutter.project_slug or 'invalid-empty-slug' }}"
    template = _broken_copy(tmp_path, f"{project}/zz_last.txt", "{{ cookiecutter.nope }}")
    out = tmp_path / "out"
    with pytest.raises(TemplateError, match="Unable to create file"):
        create_project(str(template), output_dir=out, no_input=True)
    assert not out.exists()


def test_a_failing_post_hook_leaves_no_partial_directory(
    cookiecutter_home: Path, tmp_path: Path
) -> None:
    template = _broken_copy(tmp_path, "hooks/post_gen_project.py", "raise SystemExit(3)\n")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(TemplateError, match="a hook failed"):
        create_project(str(template), output_dir=out, no_input=True)
    assert list(out.iterdir()) == []


def test_a_missing_template_is_a_source_error(cookiecutter_home: Path, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not a directory or a Git URL"):
        create_project(str(tmp_path / "nowhere"), output_dir=tmp_path)
    with pytest.raises(SourceError, match=r"no cookiecutter\.json"):
        create_project(str(tmp_path), output_dir=tmp_path)


def test_template_pins_match_the_repository_requirements() -> None:
    pins = dict(
        line.split("==")
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    for package, version in COOKIECUTTER_JSON["_pins"].items():
        assert pins[package] == version, package


def test_the_record_names_the_template_and_its_version(
    cookiecutter_home: Path, tmp_path: Path
) -> None:
    created = create_project(output_dir=tmp_path, values={"project_name": "Rec"}, no_input=True)
    record = json.loads((created.project_dir / ".mlharness-template.json").read_text())
    assert record == {"name": "mlflow-project", "version": COOKIECUTTER_JSON["_template_version"]}
    assert ".mlharness-template.json" in project_files(created.project_dir)
