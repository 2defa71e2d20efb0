"""The pure parts of ``verify --perturb`` (labels, shuffling, declarations) and of
``--recorded-env`` (the key, the requirement lines, naming the package uv refused)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.kernel.errors import ParamError
from harness.run import perturbation, recorded_env
from harness.run.perturbation import DIVERGENT, IDENTICAL, WITHIN
from harness.schemas.manifest import RunManifest
from tests.support.manifests import manifest_json, run_manifest


def _manifest(metrics: dict[str, float], outputs: dict[str, str]) -> RunManifest:
    doc = manifest_json()
    doc["metrics"], doc["outputs"] = metrics, outputs
    return run_manifest(doc)


def test_parse_kinds_keeps_order_drops_repeats_and_refuses_unknown_names() -> None:
    assert perturbation.parse_kinds("threads, hashseed,threads") == ["threads", "hashseed"]
    with pytest.raises(ParamError, match="unknown perturbation 'moon'"):
        perturbation.parse_kinds("threads,moon")
    with pytest.raises(ParamError, match="no perturbation"):
        perturbation.parse_kinds(" , ")


def test_each_value_is_labelled_with_what_broke_it() -> None:
    original = _manifest({"a": 1.0, "b": 2.0, "c": 3.0}, {"x.png": "d1"})
    replays = {
        "threads=1": _manifest({"a": 1.0, "b": 2.0, "c": 3.0}, {"x.png": "d1"}),
        "threads=8": _manifest({"a": 1.0, "b": 2.0 * (1 + 1e-12), "c": 3.5}, {"x.png": "d2"}),
    }
    rows = {row.name: row for row in perturbation.compare(original, replays, {"b": 1e-9})}
    assert (rows["a"].status, rows["a"].broken_by) == (IDENTICAL, [])
    assert (rows["b"].status, rows["b"].broken_by) == (WITHIN, ["threads=8"])
    assert (rows["c"].status, rows["c"].broken_by) == (DIVERGENT, ["threads=8"])
    assert (rows["x.png"].status, rows["x.png"].section) == (DIVERGENT, "outputs")
    report = perturbation.PerturbationReport("r", list(replays), {}, list(rows.values()), [])
    assert report.reproducible is False and report.to_dict()["reproducible"] is False


def test_order_needs_the_declaration_and_shuffles_rows_under_the_header(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "MLproject").write_text(
        "name: p\nentry_points:\n  main:\n    command: x\n"
        "mlharness:\n  row_order_safe: [evaluate]\n"
    )
    data = tmp_path / "d.csv"
    data.write_text("a,b\n" + "".join(f"{i},{i * i}\n" for i in range(20)))
    kwargs = {"inputs": {"data": str(data)}, "recorded_variables": {}, "workdir": tmp_path}
    planned, notes = perturbation.perturbations(
        ["order"], project_dir=project, entry_point="main", **kwargs
    )
    assert planned == [] and "does not declare" in notes[0]
    planned, notes = perturbation.perturbations(
        ["threads", "hashseed", "order"], project_dir=project, entry_point="evaluate", **kwargs
    )
    assert [p.label for p in planned][-1] == "order" and not notes
    assert planned[0].variables["OMP_NUM_THREADS"] == "1"
    assert planned[2].variables == {"PYTHONHASHSEED": "12345"}
    shuffled = Path(planned[-1].params["data"]).read_text().splitlines()
    original = data.read_text().splitlines()
    assert shuffled[0] == "a,b" and shuffled != original and sorted(shuffled) == sorted(original)


def test_a_recorded_hashseed_is_replaced_by_another_one(tmp_path: Path) -> None:
    planned, _ = perturbation.perturbations(
        ["hashseed"],
        project_dir=tmp_path,
        entry_point="main",
        inputs={},
        recorded_variables={"PYTHONHASHSEED": "12345"},
        workdir=tmp_path,
    )
    assert planned[0].variables == {"PYTHONHASHSEED": "54321"}


def test_the_environment_key_follows_packages_python_and_local_sources() -> None:
    base = recorded_env.environment_key("3.11.7", ["a==1", "b==2"], {})
    assert base.startswith("py3.11.7-")
    assert recorded_env.environment_key("3.11.7", ["a==1", "b==3"], {}) != base
    assert recorded_env.environment_key("3.11.8", ["a==1", "b==2"], {}) != base
    assert recorded_env.environment_key("3.11.7", ["a==1", "b==2"], {"a==1": "/x"}) != base


def test_uv_errors_name_the_recorded_package() -> None:
    packages = ["scikit_learn==1.9.1", "nosuch_pkg==9.9.9", "torch==2.13.0+cpu"]
    message = (
        "  x No solution found when resolving dependencies:\n"
        "  ╰─▶ Because nosuch-pkg was not found in the package registry and you require "
        "nosuch-pkg==9.9.9, we can conclude that your requirements are unsatisfiable."
    )
    assert recorded_env._failed_package(message, packages) == "nosuch_pkg==9.9.9"
    other = "Because there is no version of scikit-learn==1.9.1 and you require it"
    assert recorded_env._failed_package(other, packages) == "scikit_learn==1.9.1"
    assert recorded_env._failed_package("network is down", packages) is None


def test_local_packages_become_direct_references() -> None:
    text = recorded_env._requirements(["a==1", "mine==0.1"], {"mine==0.1": "/src/mine"})
    assert text == "a==1\nmine @ file:///src/mine\n"


def test_a_recorded_environment_needs_the_python_and_packages_of_the_section() -> None:
    doc = manifest_json()
    doc["environment"].update(python=None, pip_freeze=["a==1"])
    without_python = run_manifest(doc).environment
    with pytest.raises(recorded_env.RecordedEnvError, match="run r0 recorded no Python"):
        recorded_env.ensure(without_python, of_run="r0")
    doc["environment"].update(python="3.11.7", pip_freeze=[])
    without_packages = run_manifest(doc).environment
    with pytest.raises(recorded_env.RecordedEnvError, match="no Python version or package"):
        recorded_env.ensure(without_packages, of_run="bench")
