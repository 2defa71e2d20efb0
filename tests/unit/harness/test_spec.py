"""Run-spec validation against real MLproject files (no runs, no tracking store)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.kernel.assignments import AssignmentError, parse_assignments
from harness.kernel.errors import ConfigError, ParamError, SpecError
from harness.run.spec import build_run_spec
from tests.support.paths import PROJECTS

RF = PROJECTS / "rf"
TINY = Path(__file__).parents[2] / "functional" / "harness" / "tiny"


def test_defaults_are_filled_and_values_kept_as_strings() -> None:
    spec = build_run_spec(RF, "main", {"n_estimators": "7"}, env_manager="local")
    assert spec.parameters == {
        "n_estimators": "7",
        "max_depth": "none",
        "min_samples_leaf": "1",
        "test_size": "0.25",
        "random_state": "42",
    }
    assert spec.param_types["test_size"] == "float"


def test_every_problem_is_reported_at_once_with_a_suggestion() -> None:
    with pytest.raises(ParamError) as caught:
        build_run_spec(
            RF,
            "main",
            {"n_estimator": "5", "min_samples_leaf": "x", "test_size": "abc", "zzz": "1"},
            env_manager="local",
        )
    problems = caught.value.problems
    assert problems == [
        "unknown parameter 'n_estimator' (did you mean 'n_estimators'?)",
        "unknown parameter 'zzz'",
        "min_samples_leaf: 'x' is not an int",
        "test_size: 'abc' is not a float",
    ]
    assert caught.value.exit_code == 2


def test_missing_required_and_missing_path_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ParamError) as caught:
        build_run_spec(RF, "evaluate", {"data": str(tmp_path / "nope.csv")}, env_manager="local")
    assert caught.value.problems == [
        "missing required parameter 'model_uri' (string)",
        f"data: path '{tmp_path / 'nope.csv'}' does not exist",
    ]


def test_existing_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "d.csv").write_text("a\n")
    monkeypatch.chdir(tmp_path)
    spec = build_run_spec(
        RF, "evaluate", {"data": "d.csv", "model_uri": "runs:/x/model"}, env_manager="local"
    )
    assert spec.parameters["data"] == str(tmp_path / "d.csv")
    assert spec.input_params() == {"data": str(tmp_path / "d.csv")}


def test_unknown_entry_point_suggests_the_close_one() -> None:
    with pytest.raises(SpecError, match="unknown entry point 'mian'") as caught:
        build_run_spec(RF, "mian", {}, env_manager="local")
    assert "did you mean 'main'?" in caught.value.one_line()


def test_directory_without_mlproject_has_no_entry_points(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="unknown entry point"):
        build_run_spec(tmp_path, "main", {}, env_manager="local")


def test_env_manager_defaults_to_what_mlflow_run_picks() -> None:
    assert build_run_spec(RF, "main", {}, env_manager=None).env_manager == "virtualenv"


@pytest.mark.parametrize("value", ["$(touch x)", "`touch x`", 'a"; touch x; "'])
def test_values_that_bash_expands_in_double_quotes_are_refused(value: str) -> None:
    with pytest.raises(ParamError, match="double-quoted placeholder"):
        build_run_spec(TINY, "quoted", {"s": value}, env_manager="local")
    # The same value is fine where MLflow's single quotes protect it.
    assert build_run_spec(TINY, "main", {"s": value}, env_manager="local").parameters["s"] == value


def test_assignments_split_on_the_first_equals_and_report_all_bad_pairs() -> None:
    # -P goes through the one KEY=VALUE parser of the kernel.
    assert parse_assignments(["a=1", "b=x=y", "c="], option="-P") == {
        "a": "1",
        "b": "x=y",
        "c": "",
    }
    with pytest.raises(AssignmentError) as caught:
        parse_assignments(["novalue", "=1"], option="-P")
    assert caught.value.problems == ["-P 'novalue' is not KEY=VALUE", "-P '=1' is not KEY=VALUE"]
    assert caught.value.exit_code == 2


def test_a_script_entry_point_digests_the_local_paths_it_is_given(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "train.py").write_text("print(1)\n")
    (project / "local.csv").write_text("a\n")
    (tmp_path / "outside.csv").write_text("b\n")
    spec = build_run_spec(
        project,
        "train.py",
        {
            "near": "local.csv",  # relative: as the script sees it, from the project dir
            "far": str(tmp_path / "outside.csv"),
            "dir": "..",
            "n": "5",
            "gone": str(tmp_path / "missing.csv"),
        },
        env_manager="local",
    )
    assert spec.parameters["near"] == "local.csv"  # passed to the script as typed
    assert spec.input_params() == {
        "near": str(project / "local.csv"),
        "far": str(tmp_path / "outside.csv"),
        "dir": str(tmp_path),
    }


def test_the_schema_accepts_what_mlflow_accepts(tmp_path: Path) -> None:
    # MLflow's short form (a bare type), no parameters block, keys MLflow ignores, and the
    # file name in any case.
    (tmp_path / "mlproject").write_text(
        "name: p\ndescription: ignored by MLflow\nentry_points:\n"
        "  main:\n    parameters: {alpha: float, n: {type: int, default: 3}}\n"
        "    command: python x.py {alpha} {n}\n"
        "  bare:\n    command: python x.py\n"
    )
    spec = build_run_spec(tmp_path, "main", {"alpha": "0.5"}, env_manager="local")
    assert spec.parameters == {"alpha": "0.5", "n": "3"}
    assert spec.param_types == {"alpha": "float", "n": "int"}
    assert build_run_spec(tmp_path, "bare", {}, env_manager="local").parameters == {}


def test_a_bad_mlproject_names_every_problem_with_its_key_path(tmp_path: Path) -> None:
    (tmp_path / "MLproject").write_text(
        "entry_points:\n  main:\n    parameters:\n      a: {type: banana}\n      b: [1]\n"
        "  other: {command: 5}\n  nulls:\n    parameters:\n    command: python x.py\n"
    )
    with pytest.raises(ConfigError) as caught:
        build_run_spec(tmp_path, "main", {}, env_manager="local")
    assert caught.value.source == str(tmp_path / "MLproject")
    assert [p.split(":")[0] for p in caught.value.problems] == [
        "entry_points.main.parameters.a.type",
        "entry_points.main.parameters.b",
        "entry_points.main.command",
        "entry_points.other.command",
        "entry_points.nulls.parameters",  # MLflow's loader would crash on a null block
    ]
    assert caught.value.exit_code == 2
