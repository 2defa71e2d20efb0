"""Every file a command reads, fed an empty file, a truncated one, valid syntax with wrong
types and garbage bytes, through the real CLI (a subprocess, as a user types it).

Each case must end with exit 2, one line on stderr that starts with ``error:`` and names
the file (and the key path where there is one), no traceback, and no output file. The
MLproject has its own table (tests/functional/harness/test_bad_mlproject.py).

The cases share one workspace and one tracking store (module fixtures) and run three at a
time. Each is its own process running the console script's ``main``, forked from one that has
imported the CLI and MLflow once (``tests/support/store_cli_forks.py``); the whole table used
to cost ~45 cold starts in the module fixture, which ``--durations`` books on the first case
in order (``cookiecutter_empty``: 76 s).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from tests.support.manifests import manifest_json
from tests.support.mlflow_cli import CliResult
from tests.support.monitoring_data import frame, write
from tests.support.paths import TEMPLATES
from tests.support.store_cli_forks import PRELOAD as STORE_PRELOAD
from tests.support.store_cli_forks import Command, ForkedCli
from tests.support.stores import fresh_store_uri

pytestmark = pytest.mark.functional

# Seeded so a garbage case fails the same way every run.
GARBAGE = np.random.default_rng(7).integers(0, 256, 600, dtype=np.uint8).tobytes()
# MLflow's artifact download draws a progress bar on stderr; the error line is ours.
QUIET_DOWNLOADS = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
PARALLEL = 3
# What the commands of the table import, once for all of them (each fork imports the rest).
PRELOAD = (
    *STORE_PRELOAD,
    "harness.run.cli",
    "harness.scaffold.cli",
    "harness.config.cli",
    "monitoring.cli",
    "monitoring.operations",
    "monitoring.profile",
    "scipy.special",
)


@dataclass(frozen=True)
class Case:
    """One bad input: the command that reads it, what its error line must say, and the
    files the command would have written (they must not exist afterwards)."""

    args: tuple[str, ...]
    expected: str
    outputs: tuple[str, ...] = ()
    # config check lists each problem on its own indented line after the one error line
    # (harness/config/cli.py); every other reader prints exactly one line.
    single_line: bool = True
    env: tuple[tuple[str, str], ...] = ()


def _drift(
    case: str, reference: str, current: str, *extra: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    out = (f"out/{case}/report.json", f"out/{case}/report.html", f"out/{case}/drift.prom")
    args = (
        "monitor",
        "drift",
        "--reference",
        reference,
        "--current",
        current,
        "-o",
        out[0],
        "--html",
        out[1],
        "--prometheus-textfile",
        out[2],
        *extra,
    )
    return args, out


def _profile(case: str, data: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    out = (f"out/{case}/profile.json", f"out/{case}/profile.npz")
    return ("monitor", "profile", data, "-o", out[0]), out


def _new(case: str, *args: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return ("new", *args, "-o", f"out/{case}", "--no-input"), (f"out/{case}",)


def _cases(run_ids: dict[str, str]) -> dict[str, Case]:
    table: dict[str, Case] = {}

    def add(name: str, built: tuple[tuple[str, ...], tuple[str, ...]], expected: str) -> None:
        table[name] = Case(built[0], expected, built[1])

    # The drift profile header (profile.json) ...
    for kind, expected in {
        "empty": "profile.json: 1 problem(s): (top level): not JSON: Expecting value",
        "truncated": "profile.json: 1 problem(s): (top level): not JSON",
        "wrong_types": "profile.json: 2 problem(s): n_rows: Input should be a valid integer; "
        "columns.x0.kind: Input should be 'numerical' or 'categorical'",
        "garbage": "profile.json: 1 problem(s): (top level): not JSON: 'utf-8' codec",
    }.items():
        add(
            f"profile_json_{kind}",
            _drift(f"pj_{kind}", f"bad/pj_{kind}/profile.json", "good.parquet"),
            expected,
        )
    # ... and its payload (profile.npz).
    for kind, expected in {
        "empty": "profile.npz: 1 problem(s): (top level): not a readable .npz archive",
        "truncated": "profile.npz: 1 problem(s): (top level): not a readable .npz archive",
        "wrong_types": "profile.npz: 1 problem(s): 1.values: dtype float32, expected float64",
        "missing_array": "profile.npz: 1 problem(s): 0.values: missing (the values of column 'x0')",
        "garbage": "profile.npz: 1 problem(s): (top level): not a readable .npz archive",
    }.items():
        add(
            f"profile_npz_{kind}",
            _drift(f"pn_{kind}", f"bad/pn_{kind}/profile.json", "good.parquet"),
            expected,
        )
    # Batches, as the current data of a drift check ...
    batch_errors = {
        "csv": {
            "empty": "batch_empty.csv: empty file",
            "truncated": "batch_truncated.csv: cannot parse CSV: CSV parse error: Expected 7",
            "wrong_types": "batch_wrong_types.csv: 1 problem(s): columns.x0: string values, "
            "the profile expects numbers",
            "garbage": "batch_garbage.csv: not a CSV file (binary content, not UTF-8 text)",
            "header_only": "batch_header_only.csv: no rows",
        },
        "parquet": {
            "empty": "batch_empty.parquet: empty file",
            "truncated": "batch_truncated.parquet: not a readable Parquet file",
            "wrong_types": "batch_wrong_types.parquet: 1 problem(s): columns.x0: string values, "
            "the profile expects numbers",
            "garbage": "batch_garbage.parquet: not a readable Parquet file",
            "header_only": "batch_header_only.parquet: no rows",
        },
    }
    for suffix, kinds in batch_errors.items():
        for kind, expected in kinds.items():
            name = f"batch_{kind}.{suffix}"
            add(
                f"drift_{suffix}_{kind}",
                _drift(f"d{suffix}_{kind}", "ref/profile.json", name),
                expected,
            )
    # ... and as the reference data of a profile (the same reader: CSV only). Wrong types
    # for a profile: no column it can profile.
    for kind, expected in batch_errors["csv"].items():
        name = f"batch_{kind}.csv"
        if kind == "wrong_types":
            name = "dates_only.csv"
            expected = "dates_only.csv: no numerical or categorical column to profile; "
            expected += "columns: day (date32[day])"
        add(f"profile_csv_{kind}", _profile(f"pcsv_{kind}", name), expected)
    # --stattest, through the one KEY=VALUE parser.
    add(
        "stattest_not_a_pair",
        _drift("st_pair", "ref/profile.json", "good.parquet", "--stattest", "x0"),
        "--stattest 'x0' is not KEY=VALUE",
    )
    add(
        "stattest_wrong_type",
        _drift("st_type", "ref/profile.json", "good.parquet", "--stattest", "x0=ks:high"),
        "--stattest 'x0=ks:high': value 'ks:high' is not METHOD[:THRESHOLD]",
    )
    # A template's cookiecutter.json ...
    for kind, expected in {
        "empty": "cookiecutter.json: not JSON: Expecting value",
        "truncated": "cookiecutter.json: not JSON: Unterminated string",
        "wrong_types": "cookiecutter.json: 2 problem(s): project_name: Value error, null is not "
        "a template value",
        "garbage": "cookiecutter.json: not JSON: 'utf-8' codec",
    }.items():
        add(f"cookiecutter_{kind}", _new(f"cc_{kind}", f"bad/cc_{kind}"), expected)
    # ... and --set.
    template = str(TEMPLATES / "mlflow-project")
    for kind, (value, expected) in {
        "empty": ("", "--set '' is not KEY=VALUE"),
        "truncated": ("project_name", "--set 'project_name' is not KEY=VALUE"),
        "wrong_types": ("include_tests=maybe", "--set include_tests=maybe: not a choice"),
        "garbage": ("=\x7f\x1b", "is not KEY=VALUE"),
    }.items():
        add(f"set_{kind}", _new(f"set_{kind}", template, "--set", value), expected)
    # The manifest of a run, as replay (and verify) read it.
    for kind, expected in {
        "empty": "the manifest has 1 problem(s): (top level): not JSON",
        "truncated": "the manifest has 1 problem(s): (top level): not JSON",
        "wrong_types": "the manifest has 2 problem(s): source.dirty: Input should be a valid "
        "boolean; run_spec.parameters.alpha: Input should be a valid string",
        "garbage": "the manifest has 1 problem(s): (top level): not JSON",
    }.items():
        table[f"manifest_{kind}"] = Case(
            ("replay", run_ids[kind], "--dry-run"),
            f"run {run_ids[kind]}: {expected}",
            env=tuple(QUIET_DOWNLOADS.items()),
        )
    # The pipeline config, as `config check` reads it.
    for kind, expected in {
        "empty": "config_empty.yaml: 1 problem(s)",
        "truncated": "config_truncated.yaml: 1 problem(s)",
        "wrong_types": "config_wrong_types.yaml: ",
        "garbage": "config_garbage.yaml: 1 problem(s)",
    }.items():
        table[f"pipeline_config_{kind}"] = Case(
            ("config", "check", f"config_{kind}.yaml"), expected, single_line=False
        )
    return table


# -- the bad files ------------------------------------------------------------------------------
def _npz_rewritten(case_dir: Path, change: Callable[[dict[str, np.ndarray]], None]) -> None:
    """Replace the payload with a valid ``.npz`` of changed arrays, and record its digest
    (so the check that fails is the array check, not the digest)."""
    payload = case_dir / "profile.npz"
    with np.load(payload) as loaded:
        arrays = {k: loaded[k] for k in loaded.files}
    change(arrays)
    with open(payload, "wb") as handle:
        np.savez(handle, **arrays)
    header = json.loads((case_dir / "profile.json").read_text())
    header["payload_sha256"] = hashlib.sha256(payload.read_bytes()).hexdigest()
    (case_dir / "profile.json").write_text(json.dumps(header))


def _make_files(root: Path) -> None:
    from monitoring.operations import build_reference_profile

    write(frame(400, 1), root / "train.csv")
    good = frame(400, 2)
    write(good, root / "good.parquet")
    build_reference_profile(root / "train.csv", root / "ref" / "profile.json")
    bad = root / "bad"
    ref_json = (root / "ref" / "profile.json").read_bytes()
    ref_npz = (root / "ref" / "profile.npz").read_bytes()
    for prefix in ("pj", "pn"):
        for kind in ("empty", "truncated", "wrong_types", "garbage", "missing_array"):
            case_dir = bad / f"{prefix}_{kind}"
            case_dir.mkdir(parents=True)
            (case_dir / "profile.json").write_bytes(ref_json)
            (case_dir / "profile.npz").write_bytes(ref_npz)
    (bad / "pj_empty" / "profile.json").write_bytes(b"")
    (bad / "pj_truncated" / "profile.json").write_bytes(ref_json[: len(ref_json) // 2])
    header = json.loads(ref_json)
    header["n_rows"] = "400"
    header["columns"]["x0"]["kind"] = "float"
    (bad / "pj_wrong_types" / "profile.json").write_text(json.dumps(header))
    (bad / "pj_garbage" / "profile.json").write_bytes(GARBAGE)
    (bad / "pn_empty" / "profile.npz").write_bytes(b"")
    (bad / "pn_truncated" / "profile.npz").write_bytes(ref_npz[: len(ref_npz) // 2])
    (bad / "pn_garbage" / "profile.npz").write_bytes(GARBAGE)

    def to_float32(arrays: dict[str, np.ndarray]) -> None:
        arrays["1.values"] = arrays["1.values"].astype(np.float32)

    def drop_values(arrays: dict[str, np.ndarray]) -> None:
        del arrays["0.values"]

    _npz_rewritten(bad / "pn_wrong_types", to_float32)
    _npz_rewritten(bad / "pn_missing_array", drop_values)

    wrong = good.set_column(0, "x0", pa.array([f"v{i}" for i in range(good.num_rows)]))
    for suffix in ("csv", "parquet"):
        (root / f"batch_empty.{suffix}").write_bytes(b"")
        (root / f"batch_garbage.{suffix}").write_bytes(GARBAGE)
        write(good.slice(0, 0), root / f"batch_header_only.{suffix}")
        write(wrong, root / f"batch_wrong_types.{suffix}")
        whole = write(good, root / f"whole.{suffix}").read_bytes()
        cut = whole[: len(whole) // 2]
        if suffix == "csv":  # end two fields into a row, as an interrupted copy does
            start = cut.rindex(b"\n") + 1
            cut = whole[: whole.index(b",", whole.index(b",", start) + 1)]
        (root / f"batch_truncated.{suffix}").write_bytes(cut)

    (root / "dates_only.csv").write_text("day\n2026-01-01\n2026-01-02\n")

    templates = {
        "empty": b"",
        "truncated": b'{"project_name": "My Mod',
        "wrong_types": b'{"project_name": null, "task": [], "_private": null}',
        "garbage": GARBAGE,
    }
    for kind, content in templates.items():
        (bad / f"cc_{kind}").mkdir()
        (bad / f"cc_{kind}" / "cookiecutter.json").write_bytes(content)

    configs = {
        "empty": b"",
        "truncated": b'project:\n  uri: "projects/r',
        "wrong_types": b"project: 5\nsteps: a list of steps\nmodel: []\n",
        "garbage": GARBAGE,
    }
    for kind, content in configs.items():
        (root / f"config_{kind}.yaml").write_bytes(content)


def _manifest_doc() -> dict[str, object]:
    """A complete manifest whose only faults are two wrong types."""
    doc = manifest_json()
    doc["source"]["dirty"] = "no"
    doc["run_spec"]["parameters"]["alpha"] = 0.5
    return doc


def _runs_with_bad_manifests(tracking_uri: str, scratch: Path) -> dict[str, str]:
    """One run per manifest case, its manifest artifact and digest tag as mlharness logs them."""
    from mlflow import MlflowClient

    from harness.schemas import manifest

    doc = _manifest_doc()
    contents = {
        "empty": b"",
        "truncated": json.dumps(doc).encode()[:200],
        "wrong_types": json.dumps(doc).encode(),
        "garbage": GARBAGE,
    }
    client = MlflowClient(tracking_uri)
    experiment = client.create_experiment("bad-manifests")
    ids = {}
    for kind, content in contents.items():
        run = client.create_run(experiment)
        folder = scratch / kind
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_bytes(content)
        client.log_artifact(run.info.run_id, str(folder / "manifest.json"), manifest.ARTIFACT_DIR)
        client.set_tag(run.info.run_id, manifest.TAG_DIGEST, manifest.digest(doc))
        client.set_terminated(run.info.run_id)
        ids[kind] = run.info.run_id
    return ids


@dataclass(frozen=True)
class Workspace:
    root: Path
    tracking_uri: str
    cases: dict[str, Case]
    results: dict[str, CliResult]
    runs_before: int
    runs_after: int


def _count_runs(tracking_uri: str) -> int:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    ids = [e.experiment_id for e in client.search_experiments()]
    return len(client.search_runs(ids)) if ids else 0


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("bad-inputs")
    tracking_uri = fresh_store_uri(root / "store" / "mlflow.db")  # no migrations to run
    _make_files(root)
    run_ids = _runs_with_bad_manifests(tracking_uri, tmp_path_factory.mktemp("manifests"))
    cases = _cases(run_ids)
    before = _count_runs(tracking_uri)

    def command(case: Case) -> Command:
        args = [*case.args]
        if args[0] == "replay":
            args += ["--tracking-uri", tracking_uri]
        return Command(args, root, tracking_uri=tracking_uri, env=dict(case.env), timeout=300)

    with ForkedCli(PRELOAD) as forks:
        assert forks.import_output == ""  # a cold command prints nothing before its own line
        done = forks.run_many([command(case) for case in cases.values()], jobs=PARALLEL)
    results = dict(zip(cases, done, strict=True))
    return Workspace(root, tracking_uri, cases, results, before, _count_runs(tracking_uri))


def _params() -> list[str]:
    return sorted(_cases({k: "RUN" for k in ("empty", "truncated", "wrong_types", "garbage")}))


@pytest.mark.parametrize("name", _params())
def test_a_bad_input_file_is_one_line_exit_2_and_writes_nothing(
    name: str, workspace: Workspace
) -> None:
    case = workspace.cases[name]
    result = workspace.results[name]
    assert result.returncode == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert lines and lines[0].startswith("error: "), result.stderr
    if case.single_line:
        assert len(lines) == 1, result.stderr
    else:
        assert sum(line.startswith("error:") for line in lines) == 1, result.stderr
        assert all(line.startswith("  ") for line in lines[1:]), result.stderr
    assert case.expected in lines[0], lines[0]
    for output in case.outputs:
        assert not (workspace.root / output).exists(), output


def test_no_bad_input_started_a_run(workspace: Workspace) -> None:
    assert workspace.runs_after == workspace.runs_before
