"""Drift benchmark: ``mlharness monitor drift`` against a per-column scipy loop (and
Evidently 0.7, --evidently), every contender timed as a whole process.

Same data for everyone: a reference and a current Parquet file of N rows x (20 numerical
+ 5 categorical) columns, with drift injected in 6 numerical and 1 categorical column.

* ours: the command a user runs, ``mlharness monitor drift --reference profile.json
  --current current.parquet -o report.json --html report.html``, as a whole process
  (interpreter, imports, profile and file reads, every statistic, JSON and HTML report).
  Its in-process time (the same work after the imports, in a child that imported them
  first) is the second column. Building the profile (once per model) is timed apart.
* scipy: a script that reads both files, then per column ``ks_2samp`` +
  ``wasserstein_distance`` + PSI (numpy histogram) or ``chisquare`` + ``jensenshannon`` on
  value counts; whole process, and in-process (after its imports, file reads included).
* evidently: ``Report([DataDriftPreset()])`` in bench/.venv-evidently (pandas<3, because
  Evidently 0.7 does not import with pandas 3); created by this script on first use.

Wall time, user+sys CPU and peak RSS of each process come from ``wait4``. Each size runs
``--rounds`` alternating rounds (ours, scipy; then scipy, ours; ...); medians are reported.
Targets (issue 21): ours >= 10x faster than the scipy loop as whole processes at 1M and at
100k rows, peak RSS <= 1.5x the data. Beside them, the floor: a process that only imports what
these results need (numpy, pyarrow.parquet, scipy.special), timed the same way in the same
rounds; the scipy loop's wall over the floor's is the best ratio any process could reach, the
floor's RSS over the data the least RSS/input. Prints a table and writes
bench/results/drift.json.
``--quick`` for a small smoke run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.append(str(Path(__file__).resolve().parent))
from common import BIN, Session, alternate, median, run_timed, verdict

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results" / "drift.json"
EVIDENTLY_VENV = BENCH / ".venv-evidently"
EVIDENTLY_PINS = ["evidently==0.7.*", "pandas<3", "pyarrow", "numpy<2.3"]
N_NUM, N_CAT = 20, 5
DRIFTING_NUM = 6
ROUNDS = 3
SPEEDUP_MIN = 10.0
RSS_OVER_INPUT_MAX = 1.5
# What any drift check giving these results must import: numpy (the arrays), pyarrow.parquet
# (the Parquet input) and scipy.special (the p-values, bit for bit scipy's: issue 21 keeps
# the results exactly as they are). A process doing only that bounds ours from below.
FLOOR_IMPORTS = "import numpy, pyarrow.parquet, scipy.special"


# ---------------------------------------------------------------- data


def make_data(rows: int, folder: Path, seed: int = 7) -> tuple[Path, Path]:
    """Write reference.parquet and current.parquet (in 1M-row groups: flat memory)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / "reference.parquet", folder / "current.parquet"
    if all(p.exists() for p in paths):
        return paths
    vocab = [[f"v{i}" for i in range(size)] for size in (3, 8, 20, 100, 1000)]
    for which, path in enumerate(paths):
        rng = np.random.default_rng(seed + which)
        writer = None
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            cols: dict[str, Any] = {}
            for j in range(N_NUM):
                shift = 0.3 if (which == 1 and j < DRIFTING_NUM) else 0.0
                kind = j % 4
                if kind == 0:
                    x = rng.normal(shift, 1.0, n)
                elif kind == 1:
                    x = rng.lognormal(shift, 0.5, n)
                elif kind == 2:
                    x = np.round(rng.normal(10 + shift, 2.0, n), 2)  # ties
                else:
                    x = rng.poisson(50 + 10 * shift, n).astype(np.float64)  # many ties
                cols[f"num{j:02d}"] = x
            for j, words in enumerate(vocab):
                p = np.linspace(1, 2, len(words))
                if which == 1 and j == 0:
                    p = p[::-1] ** 3
                cols[f"cat{j}"] = np.asarray(words)[rng.choice(len(words), n, p=p / p.sum())]
            table = pa.table(cols)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=1_000_000)
        assert writer is not None
        writer.close()
    return paths


# ---------------------------------------------------------------- contenders (children)


def child_data(rows: int, folder: Path) -> dict[str, Any]:
    """Make (or find) the data set and measure its Arrow size, in a child process: see
    ``measure`` for why the driver must not hold the data."""
    ref, cur = make_data(rows, folder)
    return {
        "reference": str(ref),
        "current": str(cur),
        "input_bytes_reference": input_bytes(ref),
        "input_bytes_current": input_bytes(cur),
    }


def child_profile(ref: Path, profile: Path) -> dict[str, Any]:
    from monitoring.chunks import open_source
    from monitoring.profile import build_profile, save_profile

    started = time.perf_counter()
    built = build_profile(open_source(ref), name=str(ref))
    files = save_profile(built, profile)
    return {"seconds": time.perf_counter() - started, "bytes": sum(f.stat().st_size for f in files)}


def child_ours(profile: Path, cur: Path, out: Path, all_pvalues: bool = False) -> dict[str, Any]:
    import scipy.stats  # noqa: F401  (imported lazily by the engine; not part of this clock)

    from monitoring import report_json
    from monitoring.chunks import open_source
    from monitoring.drift import run_drift
    from monitoring.policy import make_policy
    from monitoring.profile import load_profile
    from monitoring.report_html import write_html

    started = time.perf_counter()
    result = run_drift(
        load_profile(profile), open_source(cur), make_policy([]), threads=2, all_pvalues=all_pvalues
    )
    report_json.write_json(report_json.to_dict(result), out / "report.json")
    write_html(result, out / "report.html")
    return {
        "seconds": time.perf_counter() - started,
        "engine_seconds": result.seconds,
        "drifted": result.n_drifted_features,
        "dataset_drift": result.dataset_drift,
    }


def child_scipy(ref: Path, cur: Path) -> dict[str, Any]:
    import numpy as np
    import pyarrow.parquet as pq
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import chisquare, ks_2samp, wasserstein_distance

    started = time.perf_counter()
    a, b = pq.read_table(ref), pq.read_table(cur)
    loaded = time.perf_counter()
    drifted = 0
    for name in a.column_names:
        x = a.column(name).to_numpy()
        y = b.column(name).to_numpy()
        if x.dtype.kind == "f":
            ks = ks_2samp(x, y)
            w = wasserstein_distance(x, y) / max(float(np.std(x)), 0.001)
            edges = np.quantile(x, np.linspace(0, 1, 11))
            edges[0], edges[-1] = -np.inf, np.inf
            p = np.maximum(np.histogram(x, edges)[0] / x.size, 1e-4)
            q = np.maximum(np.histogram(y, edges)[0] / y.size, 1e-4)
            psi = float(np.sum((q - p) * np.log(q / p)))
            drifted += int(w >= 0.1)
            del ks, psi
        else:
            cx, nx = np.unique(x, return_counts=True)
            cy, ny = np.unique(y, return_counts=True)
            cats = np.union1d(cx, cy)
            fx = np.zeros(cats.size)
            fy = np.zeros(cats.size)
            fx[np.searchsorted(cats, cx)] = nx
            fy[np.searchsorted(cats, cy)] = ny
            with np.errstate(divide="ignore", invalid="ignore"):
                chisquare(fy, fx * fy.sum() / fx.sum())
            drifted += int(jensenshannon(fx / fx.sum(), fy / fy.sum()) >= 0.1)
    return {
        "seconds": time.perf_counter() - started,
        "stats_seconds": time.perf_counter() - loaded,
        "drifted": drifted,
    }


EVIDENTLY_SNIPPET = """
import json, resource, sys, time
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
started = time.perf_counter()
ref = pd.read_parquet(sys.argv[1]); cur = pd.read_parquet(sys.argv[2])
report = Report([DataDriftPreset()])
snapshot = report.run(reference_data=ref, current_data=cur)
snapshot.dict()
usage = resource.getrusage(resource.RUSAGE_SELF)
out = {"seconds": time.perf_counter() - started, "peak_rss_bytes": usage.ru_maxrss * 1024,
       "cpu_seconds_process": usage.ru_utime + usage.ru_stime}
print("RESULT " + json.dumps(out))
"""


def ensure_evidently() -> Path:
    python = EVIDENTLY_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(EVIDENTLY_VENV)], check=True)
        (EVIDENTLY_VENV / ".gitignore").write_text("*\n")  # never committed
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *EVIDENTLY_PINS], check=True
        )
    return python


# ---------------------------------------------------------------- driver


def run_child(args: list[str], python: str = sys.executable) -> dict[str, Any]:
    """Run one contender in a fresh process; return its JSON line (with peak RSS).

    ``-P``: bench/ is not put first on sys.path, so bench scripts cannot shadow packages.
    """
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore")
    done = subprocess.run(
        [python, "-P", *args], capture_output=True, text=True, env=env, check=False, cwd=REPO
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    raise RuntimeError(f"{args[:3]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")


def child_main(argv: list[str]) -> None:
    import resource

    mode, *paths = argv
    work = {
        "data": lambda: child_data(int(paths[0]), Path(paths[1])),
        "profile": lambda: child_profile(Path(paths[0]), Path(paths[1])),
        "ours": lambda: child_ours(Path(paths[0]), Path(paths[1]), Path(paths[2])),
        "ours_all_pvalues": lambda: child_ours(
            Path(paths[0]), Path(paths[1]), Path(paths[2]), True
        ),
        "scipy": lambda: child_scipy(Path(paths[0]), Path(paths[1])),
    }[mode]
    result = work()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["peak_rss_bytes"] = usage.ru_maxrss * 1024
    result["cpu_seconds_process"] = usage.ru_utime + usage.ru_stime  # includes imports
    print("RESULT " + json.dumps(result))


def input_bytes(*paths: Path) -> int:
    """In-memory (Arrow) size of the data sets: first row group's size scaled to all rows."""
    import pyarrow.parquet as pq

    total = 0
    for path in paths:
        handle = pq.ParquetFile(path)
        first = handle.read_row_group(0)
        total += int(first.nbytes * handle.metadata.num_rows / max(first.num_rows, 1))
    return total


def _whole(command: list[str], cwd: Path) -> dict[str, Any]:
    """One whole process: wall, CPU, peak RSS, and the child's RESULT line if it prints one."""
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore")
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    timed = run_timed(command, cwd=cwd, env=env, check=False)
    if timed.returncode not in (0, 4):  # 4: mlharness found data-set drift
        raise RuntimeError(f"{command[:4]} exited {timed.returncode}:\n{timed.stderr[-3000:]}")
    row: dict[str, Any] = timed.to_dict()
    for line in timed.stdout.splitlines():
        if line.startswith("RESULT "):
            row["in_process"] = json.loads(line[len("RESULT ") :])
    return row


def _median_row(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the rounds (and every round's wall time)."""
    out: dict[str, Any] = {
        "wall_s": median([r["wall_s"] for r in runs]),
        "cpu_s": median([r["cpu_s"] for r in runs]),
        "peak_rss_bytes": int(median([r["peak_rss_bytes"] for r in runs])),
        "rounds_wall_s": [round(r["wall_s"], 3) for r in runs],
    }
    inner = [r["in_process"]["seconds"] for r in runs if "in_process" in r]
    if inner:
        out["in_process_s"] = median(inner)
    return out


def measure(
    rows: int, work: Path, *, scipy: bool, evidently: bool, all_pvalues: bool, rounds: int
) -> dict[str, Any]:
    folder = work / f"rows-{rows}"
    me = str(Path(__file__).resolve())
    # The data are made and sized in a child: this driver must stay small. On Linux a
    # child's ru_maxrss (wait4) starts from the high-water mark of the process it was forked
    # from (the kernel keeps the pre-exec peak through exec), so every contender's "peak
    # RSS" was at least this driver's own peak, about 610 MiB after making the 1M-row data
    # here. The driver imports neither numpy nor pyarrow (about 20 MiB; bench_peak_rss_bytes
    # in the JSON shows it).
    data = run_child([me, "--child", "data", str(rows), str(folder)])
    ref, cur = Path(data["reference"]), Path(data["current"])
    profile = folder / "profile.json"
    out = folder / "out"
    out.mkdir(exist_ok=True)
    row: dict[str, Any] = {"rows": rows, "columns": N_NUM + N_CAT}
    row["input_bytes_reference"] = data["input_bytes_reference"]
    row["input_bytes_current"] = data["input_bytes_current"]
    row["profile"] = run_child([me, "--child", "profile", str(ref), str(profile)])
    ours_command = [str(BIN / "mlharness"), "monitor", "drift", "--reference", str(profile)]
    ours_command += ["--current", str(cur), "-o", str(out / "report.json")]
    ours_command += ["--html", str(out / "report.html")]
    python = [sys.executable, "-P", me, "--child"]
    contenders: dict[str, Any] = {
        "ours": lambda: _whole(ours_command, folder),
        "ours_in_process": lambda: _whole(
            [*python, "ours", str(profile), str(cur), str(out)], folder
        ),
    }
    if scipy:
        contenders["scipy"] = lambda: _whole([*python, "scipy", str(ref), str(cur)], folder)
        contenders["floor"] = lambda: _whole([sys.executable, "-c", FLOOR_IMPORTS], folder)
    n = rounds if rows <= 1_000_000 else 1
    results = alternate(contenders, n, label=f"{rows:,} rows")
    row["ours"] = _median_row(results["ours"])
    row["ours"]["in_process_s"] = median(
        [r["in_process"]["seconds"] for r in results["ours_in_process"]]
    )
    if scipy:
        row["scipy"] = _median_row(results["scipy"])
        row["floor"] = _median_row(results["floor"])
    if all_pvalues:  # the same work as the scipy loop, every KS p-value included
        row["ours_all_pvalues"] = _median_row(
            [_whole([*python, "ours_all_pvalues", str(profile), str(cur), str(out)], folder)]
        )
    if evidently:
        venv_python = ensure_evidently()
        script = folder / "evidently_run.py"
        script.write_text(EVIDENTLY_SNIPPET)
        row["evidently"] = _median_row(
            [_whole([str(venv_python), str(script), str(ref), str(cur)], folder)]
        )
    return row


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--child":
        child_main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evidently", action="store_true", help="also run Evidently 0.7")
    parser.add_argument("--quick", action="store_true", help="small sizes only (smoke run)")
    parser.add_argument("--rows", type=int, nargs="*", help="scaling sizes")
    parser.add_argument("--main-rows", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None, help="keep generated data here")
    parser.add_argument("--results", type=Path, default=RESULTS, help="JSON output file")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="alternating rounds")
    args, _unknown = parser.parse_known_args(argv)
    session = Session("drift")
    sizes = args.rows or (
        [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000, 10_000_000]
    )
    main_rows = 100_000 if args.quick else args.main_rows
    work = args.workdir or Path(tempfile.mkdtemp(prefix="mlharness-drift-bench-"))
    rows: list[dict[str, Any]] = []
    for size in sorted(set([*sizes, main_rows])):
        is_main = size == main_rows
        print(f"measuring {size:,} rows ...", flush=True)
        rows.append(
            measure(
                size,
                work,
                scipy=size <= 1_000_000,
                evidently=args.evidently and is_main,
                all_pvalues=is_main,
                rounds=args.rounds,
            )
        )
        report = _report(rows, main_rows)
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(report, indent=1) + "\n")  # partial results survive
    small, large = work / "rows-1000000", work / f"rows-{max(sizes)}"
    if max(sizes) > 1_000_000 and (small / "profile.json").exists():
        # Memory is flat in the current batch's rows: same 1M-row profile, 10x the rows.
        print(f"flat memory check: 1M-row profile vs {max(sizes):,}-row batch ...", flush=True)
        command = [str(BIN / "mlharness"), "monitor", "drift"]
        command += ["--reference", str(small / "profile.json")]
        command += ["--current", str(large / "current.parquet"), "-o", str(large / "flat.json")]
        report["flat_memory_check"] = {
            "profile_rows": 1_000_000,
            "current_rows": max(sizes),
            "ours": _median_row([_whole(command, large)]),
        }
    _print(report)
    session.write(report, path=args.results)
    if args.workdir is None:  # generated data is large (about 2 GB at 10M rows)
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


def _report(rows: list[dict[str, Any]], main_rows: int) -> dict[str, Any]:
    targets: dict[str, Any] = {}
    for row in rows:
        if "scipy" not in row or row["rows"] < 100_000:
            continue
        both = row["input_bytes_reference"] + row["input_bytes_current"]
        speedup = row["scipy"]["wall_s"] / row["ours"]["wall_s"]
        rss = row["ours"]["peak_rss_bytes"] / both
        targets[f"rows_{row['rows']}"] = {
            "speedup_whole_process": speedup,
            "speedup_in_process": row["scipy"]["in_process_s"] / row["ours"]["in_process_s"],
            "speedup_min": SPEEDUP_MIN,
            "rss_over_input": rss,
            "rss_over_input_max": RSS_OVER_INPUT_MAX,
            "ok": speedup >= SPEEDUP_MIN and rss <= RSS_OVER_INPUT_MAX,
            # The best any process with the same results could do: only the imports.
            "floor_imports": FLOOR_IMPORTS,
            "speedup_bound": row["scipy"]["wall_s"] / row["floor"]["wall_s"],
            "rss_over_input_bound": row["floor"]["peak_rss_bytes"] / both,
        }
    import resource

    return {
        "main_rows": main_rows,
        "python": platform.python_version(),
        # Every contender's peak RSS is at least this (see measure): it must stay below them.
        "bench_peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "targets": targets,
        "results": rows,
    }


def _print(report: dict[str, Any]) -> None:
    mib = 1 << 20
    print(
        f"\n{'rows':>11} {'ours s':>8} {'scipy s':>8} {'x scipy':>8} {'(in-proc':>9} "
        f"{'ours':>6} {'scipy':>7} {'x)':>5} {'ours RSS MiB':>13} {'RSS/input':>10} "
        f"{'ours cpu s':>10}"
    )
    print(f"{'':>11} {'whole process':^26} {'in-process s':^30}")
    for row in report["results"]:
        ours = row["ours"]
        scipy = row.get("scipy")
        both = row["input_bytes_reference"] + row["input_bytes_current"]
        nan = float("nan")
        print(
            f"{row['rows']:>11,} {ours['wall_s']:>8.2f} "
            f"{scipy['wall_s'] if scipy else nan:>8.2f} "
            f"{_ratio(scipy, ours, 'wall_s'):>8} {'':>9} {ours['in_process_s']:>6.2f} "
            f"{scipy['in_process_s'] if scipy else nan:>7.2f} "
            f"{_ratio(scipy, ours, 'in_process_s'):>5} "
            f"{ours['peak_rss_bytes'] / mib:>13.0f} {ours['peak_rss_bytes'] / both:>10.2f} "
            f"{ours['cpu_s']:>10.2f}"
        )
    main = next(r for r in report["results"] if r["rows"] == report["main_rows"])
    both = main["input_bytes_reference"] + main["input_bytes_current"]
    print(f"\n{main['rows']:,} rows x {main['columns']} columns, whole processes:")
    print(
        f"{'contender':<18} {'wall s':>8} {'cpu s':>8} {'peak RSS MiB':>13} {'RSS/input':>10} "
        f"{'ours faster by':>15}"
    )
    for name in ("ours", "ours_all_pvalues", "scipy", "evidently", "floor"):
        if name in main:
            item = main[name]
            print(
                f"{name:<18} {item['wall_s']:>8.2f} {item['cpu_s']:>8.2f} "
                f"{item['peak_rss_bytes'] / mib:>13.0f} {item['peak_rss_bytes'] / both:>10.2f} "
                f"{'-' if name == 'floor' else _ratio(item, main['ours'], 'wall_s'):>15}"
            )
    print("input = reference + current, Arrow in-memory size; RSS = peak of that process;")
    print("cpu s = user+sys CPU of the whole process (robust to load); ours_all_pvalues and")
    print("evidently: one run each; in-process = after the imports (file reads included);")
    print(f"floor = only the imports these results need: python -c '{FLOOR_IMPORTS}'")
    for name, target in report["targets"].items():
        print(
            f"{name}: whole process {target['speedup_whole_process']:.1f}x the scipy loop "
            f"(>= {SPEEDUP_MIN:g}x), in-process {target['speedup_in_process']:.1f}x, "
            f"RSS/input {target['rss_over_input']:.2f} (<= {RSS_OVER_INPUT_MAX}) "
            f"-> {verdict(target['ok'])}; the floor allows at most "
            f"{target['speedup_bound']:.1f}x and RSS/input {target['rss_over_input_bound']:.2f}"
        )
    flat = report.get("flat_memory_check")
    if flat:
        one = next(r for r in report["results"] if r["rows"] == flat["profile_rows"])
        print(
            f"flat memory: 1M-row profile vs {flat['current_rows']:,}-row batch peak RSS "
            f"{flat['ours']['peak_rss_bytes'] / mib:.0f} MiB in {flat['ours']['wall_s']:.1f} s "
            f"(vs {one['ours']['peak_rss_bytes'] / mib:.0f} MiB for the 1M-row batch)"
        )


def _ratio(other: dict[str, Any] | None, ours: dict[str, Any], field: str) -> str:
    if not other or field not in other or not ours.get(field):
        return "-"
    return f"{other[field] / ours[field]:.1f}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
