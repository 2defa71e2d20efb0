"""The suite's fresh stores (copies of one migrated empty store) are what MLflow makes."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.support.stores import fresh_store, fresh_store_uri, schema_of

pytestmark = pytest.mark.functional


def test_a_copied_store_equals_one_mlflow_makes_and_keeps_its_own_artifacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "made").mkdir()
    monkeypatch.chdir(tmp_path / "made")  # MLflow puts Default's artifacts under the cwd
    made = tmp_path / "made" / "mlflow.db"
    client = MlflowClient(f"sqlite:///{made}")
    client.search_experiments()
    client.search_registered_models()

    copied = fresh_store(tmp_path / "copy" / "mlflow.db")
    assert schema_of(copied) == schema_of(made)

    copy_client = MlflowClient(fresh_store_uri(tmp_path / "other" / "mlflow.db"))
    default = copy_client.get_experiment("0")
    assert default.artifact_location == str(tmp_path / "other" / "mlruns" / "0")
    run = copy_client.create_run("0")
    assert run.info.artifact_uri.startswith(str(tmp_path / "other" / "mlruns" / "0"))
    assert client.get_experiment("0").artifact_location == str(tmp_path / "made" / "mlruns" / "0")
    with pytest.raises(FileExistsError):
        fresh_store(copied)
