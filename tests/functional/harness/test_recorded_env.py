"""``replay``/``verify --recorded-env``: the run's own environment, rebuilt with uv.

The environment difference is real: the run is recorded in this venv; a throwaway venv that
sees the same packages but another joblib (its own site-packages first, this venv's after
it through a ``.pth`` file) then plays ``local``. Its default ``verify`` replays in that
changed environment and reports the difference; ``verify --recorded-env`` rebuilds the
recorded environment and reports identical.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.functional.harness.conftest import RecordedRf
from tests.support.git_servers import make_repo
from tests.support.harness_cli import TINY, json_of, manifest_of, mlharness
from tests.support.mlflow_cli import CliResult, cli_env
from tests.support.paths import VENV_BIN

pytestmark = [pytest.mark.functional, pytest.mark.slow]
OTHER_JOBLIB = "joblib==1.5.3"
FAKE_PACKAGE = "mlharness_no_such_package_anywhere"


def _throwaway_venv(root: Path, *, install: str | None = None, fake: bool = False) -> Path:
    """A venv that sees this venv's packages after its own (and ``install`` first)."""
    subprocess.run(
        [str(VENV_BIN / "uv"), "venv", "--quiet", "--python", sys.executable, str(root)],
        check=True,
        timeout=300,
    )
    site = next((root / "lib").glob("python3.*/site-packages"))
    # addsitedir, not a bare path: the editable mlharness is itself a .pth import hook.
    purelib = sysconfig.get_paths()["purelib"]
    (site / "zz_mlharness_venv.pth").write_text(f"import site; site.addsitedir({purelib!r})\n")
    if install:
        subprocess.run(
            [str(VENV_BIN / "uv"), "pip", "install", "--quiet", "--python",
             str(root / "bin" / "python"), "--no-deps", install],
            check=True,
            timeout=600,
        )  # fmt: skip
    if fake:
        # A package nobody can install any more: recorded in the run's package list.
        (site / f"{FAKE_PACKAGE}-9.9.9.dist-info").mkdir()
    return root


def _mlharness_in(venv: Path, *args: str, tracking_uri: str, cwd: Path) -> CliResult:
    """``mlharness ARGS`` run by the venv's own interpreter (so ``local`` is that venv)."""
    command = [str(venv / "bin" / "python"), "-c", "from harness.app import main; main()", *args]
    command += ["--tracking-uri", tracking_uri]
    env = cli_env(tracking_uri)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


def _differing(report: dict[str, object]) -> set[tuple[str, str]]:
    rows = report["rows"]
    assert isinstance(rows, list)
    return {(row["section"], row["name"]) for row in rows if row["status"] == "differs"}


def test_default_verify_sees_the_changed_environment_and_recorded_env_is_identical(
    recorded_rf: RecordedRf, tmp_path: Path
) -> None:
    # `mlharness run` of projects/rf (n_estimators=5, local) in a git repo, in this venv:
    # tests/functional/harness/conftest.py records it once per session (own store copy).
    tracking_uri, run_id = recorded_rf.tracking_uri, recorded_rf.run_id
    original = manifest_of(tracking_uri, run_id, tmp_path / "m0")
    assert any(p.startswith("joblib==1.6") for p in original["environment"]["pip_freeze"])

    changed = _throwaway_venv(tmp_path / "changed", install=OTHER_JOBLIB)
    default = _mlharness_in(changed, "verify", run_id, "--json", tracking_uri=tracking_uri,
                            cwd=tmp_path)  # fmt: skip
    assert default.returncode == 1, default.output[-3000:]
    report = json_of(default)
    assert ("environment", "lock_digest") in _differing(report)
    assert report["recorded_env"] is None
    replayed = manifest_of(tracking_uri, report["replay_run_id"], tmp_path / "m1")
    assert "joblib==1.5.3" in replayed["environment"]["pip_freeze"]

    exact = _mlharness_in(changed, "verify", run_id, "--recorded-env", "--json",
                          tracking_uri=tracking_uri, cwd=tmp_path)  # fmt: skip
    assert exact.returncode == 0, exact.output[-3000:]
    report = json_of(exact)
    assert report["identical"] is True and not _differing(report)
    env_dir = Path(report["recorded_env"]["path"])
    assert (env_dir / "mlharness-env.json").is_file()
    replayed = manifest_of(tracking_uri, report["replay_run_id"], tmp_path / "m2")
    assert replayed["environment"]["recorded_env"] == report["recorded_env"]
    assert replayed["environment"]["recorded_env"]["of_run"] == run_id
    assert replayed["environment"]["pip_freeze"] == original["environment"]["pip_freeze"]
    assert "joblib==1.5.3" not in replayed["environment"]["pip_freeze"]

    # The second replay reuses the environment (same key, same directory, not rebuilt).
    marker = (env_dir / "mlharness-env.json").stat().st_mtime_ns
    again = mlharness("replay", run_id, "--recorded-env", "--json",
                      tracking_uri=tracking_uri, cwd=tmp_path)  # fmt: skip
    assert again.returncode == 0, again.output[-3000:]
    assert json_of(again)["recorded_env"]["path"] == str(env_dir)
    assert (env_dir / "mlharness-env.json").stat().st_mtime_ns == marker


def test_a_package_that_cannot_be_installed_is_one_line_exit_2(
    tracking_uri: str, tmp_path: Path
) -> None:
    venv = _throwaway_venv(tmp_path / "odd", fake=True)
    repo = tmp_path / "repo"
    make_repo(repo, {"tiny": TINY})
    recorded = _mlharness_in(venv, "run", str(repo / "tiny"), "--env-manager", "local", "--json",
                             tracking_uri=tracking_uri, cwd=tmp_path)  # fmt: skip
    assert recorded.returncode == 0, recorded.output[-3000:]
    run_id = json.loads(recorded.stdout)["run_id"]

    replayed = mlharness("replay", run_id, "--recorded-env",
                         tracking_uri=tracking_uri, cwd=tmp_path)  # fmt: skip
    assert replayed.returncode == 2, replayed.output[-3000:]
    lines = [line for line in replayed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in replayed.stderr, replayed.stderr
    assert f"package {FAKE_PACKAGE}==9.9.9 of the recorded environment" in lines[0]
