"""``mlharness monitor`` as a user runs it: real subprocesses, real files, real MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.harness_cli import mlharness
from tests.support.mlflow_cli import CliResult, mlflow_run
from tests.support.monitoring_data import frame, write
from tests.support.paths import PROJECTS

pytestmark = pytest.mark.functional


def monitor(
    args: list[str], tracking_uri: str, cwd: Path, env: dict[str, str] | None = None
) -> CliResult:
    return mlharness("monitor", *args, tracking_uri=tracking_uri, cwd=cwd, timeout=300, env=env)


def test_drift_exit_codes_are_4_on_drift_0_without_and_2_on_bad_input(
    tracking_uri: str, tmp_path: Path
) -> None:
    write(frame(3000, 1), tmp_path / "train.csv")
    write(frame(3000, 2), tmp_path / "same.parquet")
    write(frame(3000, 3, shift=1.0), tmp_path / "shifted.csv")
    made = monitor(
        [
            "profile",
            "train.csv",
            "-o",
            "ref/profile.json",
            "--target",
            "target",
            "--prediction",
            "prediction",
            "--json",
        ],
        tracking_uri,
        tmp_path,
    )
    assert made.returncode == 0, made.output
    assert json.loads(made.stdout)["kinds"]["cat"] == "categorical"

    same = monitor(
        ["drift", "--reference", "ref/profile.json", "--current", "same.parquet", "--json"],
        tracking_uri,
        tmp_path,
    )
    assert same.returncode == 0, same.output
    assert json.loads(same.stdout)["dataset_drift"] is False

    shifted = monitor(
        [
            "drift",
            "--reference",
            "ref/profile.json",
            "--current",
            "shifted.csv",
            "--html",
            "out/report.html",
            "-o",
            "out/report.json",
            "--prometheus-textfile",
            "out/drift.prom",
            "--log-to-mlflow",
            "--tracking-uri",
            tracking_uri,
        ],
        tracking_uri,
        tmp_path,
    )
    assert shifted.returncode == 4, shifted.output
    assert "error: data-set drift: 4 of 5 features drifted" in shifted.stderr
    report = json.loads((tmp_path / "out/report.json").read_text())
    assert report["dataset_drift"] is True
    assert (tmp_path / "out/report.html").read_text().startswith("<!DOCTYPE html>")
    assert (
        'mlharness_dataset_drift{dataset="shifted"} 1.0'
        in (tmp_path / "out/drift.prom").read_text()
    )

    import mlflow

    runs = mlflow.search_runs(experiment_names=["drift-monitoring"], output_format="list")
    assert len(runs) == 1 and runs[0].data.metrics["dataset_drift"] == 1.0
    logged = {a.path for a in mlflow.MlflowClient().list_artifacts(runs[0].info.run_id, "drift")}
    assert logged == {"drift/report.json", "drift/report.html"}

    for bad in (
        ["drift", "--reference", "ref/profile.json", "--current", "missing.parquet"],
        ["drift", "--reference", "train.csv", "--current", "same.parquet"],
        [
            "drift",
            "--reference",
            "ref/profile.json",
            "--current",
            "same.parquet",
            "--stattest",
            "cat=ks",
        ],
        ["drift", "--reference", "ref/profile.json"],
    ):
        result = monitor(bad, tracking_uri, tmp_path)
        assert result.returncode == 2, (bad, result.output)
        assert "Traceback" not in result.output


def test_profile_from_a_registered_model_is_logged_beside_it(
    tracking_uri: str, tmp_path: Path
) -> None:
    run = mlflow_run(PROJECTS / "rf", {"n_estimators": 5}, tracking_uri=tracking_uri, cwd=tmp_path)
    assert run.returncode == 0, run.output
    import mlflow

    client = mlflow.MlflowClient()
    (train_run,) = mlflow.search_runs(search_all_experiments=True, output_format="list")
    version = mlflow.register_model(f"runs:/{train_run.info.run_id}/model", "rf")
    client.set_registered_model_alias("rf", "champion", version.version)

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    made = monitor(
        [
            "profile",
            "--model",
            "models:/rf@champion",
            "-o",
            "p/profile.json",
            "--tracking-uri",
            tracking_uri,
            "--json",
        ],
        tracking_uri,
        tmp_path,
        env={"TMPDIR": str(scratch)},
    )
    assert made.returncode == 0, made.output
    # The run's data was downloaded to a temporary directory, removed once profiled.
    assert list(scratch.iterdir()) == []
    summary = json.loads(made.stdout)
    assert summary["data"] == f"runs:/{train_run.info.run_id}/data/test.csv"
    assert summary["target"] == "target" and summary["prediction"] == "prediction"
    assert summary["reference_metrics"]["accuracy"] > 0.85
    logged = {a.path for a in client.list_artifacts(train_run.info.run_id, "drift_profile")}
    assert logged == {"drift_profile/profile.json", "drift_profile/profile.npz"}
    tag = client.get_model_version("rf", version.version).tags["mlharness.drift_profile"]
    assert tag == f"runs:/{train_run.info.run_id}/drift_profile/profile.json"

    test_csv = mlflow.artifacts.download_artifacts(
        run_id=train_run.info.run_id, artifact_path="data/test.csv", dst_path=str(tmp_path)
    )
    same = monitor(
        ["drift", "--reference", "p/profile.json", "--current", test_csv], tracking_uri, tmp_path
    )
    assert same.returncode == 0, same.output
