"""A script entry point (``-e tiny.py``, no declared types) is never answered from the cache
once a file it was given has changed: its content is in the cache key and in the memo.

The data file sits outside the project directory, so the code tree's digest does not see it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.harness_cli import TINY, json_of, manifest_of, mlharness
from tests.support.mlflow_cli import CliResult

pytestmark = pytest.mark.functional


def test_editing_a_script_input_runs_again_and_unchanged_is_cached(
    tracking_uri: str, tmp_path: Path
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    shutil.copy(TINY / "tiny.py", project / "tiny.py")
    (tmp_path / "data").mkdir()
    data = tmp_path / "data" / "file.csv"
    data.write_text("x\n1\n")
    memo = {"MLHARNESS_CACHE_DIR": str(tmp_path / "cache"), "MLHARNESS_MEMO_DEBUG": "1"}

    def run(env: dict[str, str] = memo) -> CliResult:
        # Relative to the project directory, where MLflow runs the script.
        return mlharness(
            "run",
            str(project),
            *("-e", "tiny.py", "-P", "p=../data/file.csv", "--env-manager", "local", "--json"),
            tracking_uri=tracking_uri,
            cwd=tmp_path,
            env=env,
        )

    first = run()
    assert first.returncode == 0, first.output
    first_run = json_of(first)
    assert first_run["cached"] is False
    doc = manifest_of(tracking_uri, first_run["run_id"], tmp_path / "m")
    assert doc["inputs"]["p"]["value"] == str(data)
    assert doc["inputs"]["p"]["digest"] is not None

    unchanged = run()
    hit = json_of(unchanged)
    assert (hit["run_id"], hit["cached"]) == (first_run["run_id"], True), unchanged.output
    assert "mlharness-memo: hit" in unchanged.stderr  # the fast path answered

    data.write_text("x\n2\n")
    edited = run()
    assert edited.returncode == 0, edited.output
    assert "mlharness-memo: miss" in edited.stderr  # the memo re-digested the file
    second_run = json_of(edited)
    assert second_run["cached"] is False, "an edited input was answered from the cache"
    assert second_run["cache_key"] != first_run["cache_key"]

    # The content decides, also without any memo: the first content is cached again.
    data.write_text("x\n1\n")
    no_memo = {"MLHARNESS_CACHE_DIR": str(tmp_path / "other-cache")}
    again = run(no_memo)
    hit = json_of(again)
    assert (hit["run_id"], hit["cached"]) == (first_run["run_id"], True), again.output
