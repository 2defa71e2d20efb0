"""Drift engine benchmark: ours vs a per-column scipy loop (and Evidently 0.7, --evidently).

Same data for everyone: a reference and a current Parquet file of N rows x (20 numerical
+ 5 categorical) columns, with drift injected in 6 numerical and 1 categorical column.
Every contender runs in its own subprocess, which reports its wall time and its peak RSS
(``resource.getrusage``), so numbers do not leak between contenders.

* ours: ``mlharness monitor drift`` work in-process: load the profile, stream the current
  Parquet file column by column, every statistic, JSON and HTML report. Building the
  profile (once per model) is timed separately.
* scipy: read both files, then per column ``ks_2samp`` + ``wasserstein_distance`` + PSI
  (numpy histogram) or ``chisquare`` + ``jensenshannon`` on value counts.
* evidently: ``Report([DataDriftPreset()])`` in bench/.venv-evidently (pandas<3, because
  Evidently 0.7 does not import with pandas 3); created by this script on first use.

Prints a table and writes bench/results/drift.json. ``--quick`` for a small smoke run.
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

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results" / "drift.json"
EVIDENTLY_VENV = BENCH / ".venv-evidently"
EVIDENTLY_PINS = ["evidently==0.7.*", "pandas<3", "pyarrow", "numpy<2.3"]
N_NUM, N_CAT = 20, 5
DRIFTING_NUM = 6
REPEAT = 3


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


def child_profile(ref: Path, profile: Path) -> dict[str, Any]:
    from monitoring.chunks import open_source
    from monitoring.profile import build_profile, save_profile

    started = time.perf_counter()
    built = build_profile(open_source(ref), name=str(ref))
    files = save_profile(built, profile)
    return {"seconds": time.perf_counter() - started, "bytes": sum(f.stat().st_size for f in files)}


def child_ours(profile: Path, cur: Path, out: Path, all_pvalues: bool = False) -> dict[str, Any]:
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


def measure(
    rows: int, work: Path, *, scipy: bool, evidently: bool, all_pvalues: bool
) -> dict[str, Any]:
    folder = work / f"rows-{rows}"
    ref, cur = make_data(rows, folder)
    profile = folder / "profile.json"
    me = str(Path(__file__).resolve())
    row: dict[str, Any] = {"rows": rows, "columns": N_NUM + N_CAT}
    row["input_bytes_reference"] = input_bytes(ref)
    row["input_bytes_current"] = input_bytes(cur)
    row["profile"] = run_child([me, "--child", "profile", str(ref), str(profile)])
    # Median of three runs on a shared machine (ours is the short, noise-sensitive one).
    runs = [
        run_child([me, "--child", "ours", str(profile), str(cur), str(folder)])
        for _ in range(REPEAT if rows <= 1_000_000 else 1)
    ]
    runs.sort(key=lambda r: float(r["seconds"]))
    row["ours"] = {**runs[len(runs) // 2], "all_seconds": [r["seconds"] for r in runs]}
    if all_pvalues:  # the same work as the scipy loop, every KS p-value included
        row["ours_all_pvalues"] = run_child(
            [me, "--child", "ours_all_pvalues", str(profile), str(cur), str(folder)]
        )
    if scipy:
        row["scipy"] = run_child([me, "--child", "scipy", str(ref), str(cur)])
    if evidently:
        python = ensure_evidently()
        script = folder / "evidently_run.py"
        script.write_text(EVIDENTLY_SNIPPET)
        row["evidently"] = run_child([str(script), str(ref), str(cur)], python=str(python))
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
    args, _unknown = parser.parse_known_args(argv)
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
            )
        )
        report = _report(rows, main_rows)
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(report, indent=1) + "\n")  # partial results survive
    small, large = work / "rows-1000000", work / f"rows-{max(sizes)}"
    if max(sizes) > 1_000_000 and (small / "profile.json").exists():
        # Memory is flat in the current batch's rows: same 1M-row profile, 10x the rows.
        print(f"flat memory check: 1M-row profile vs {max(sizes):,}-row batch ...", flush=True)
        report["flat_memory_check"] = {
            "profile_rows": 1_000_000,
            "current_rows": max(sizes),
            "ours": run_child(
                [
                    str(Path(__file__).resolve()),
                    "--child",
                    "ours",
                    str(small / "profile.json"),
                    str(large / "current.parquet"),
                    str(large),
                ]
            ),
        }
        args.results.write_text(json.dumps(report, indent=1) + "\n")
    _print(report)
    print(f"\nwrote {args.results}")
    if args.workdir is None:  # generated data is large (about 2 GB at 10M rows)
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


def _report(rows: list[dict[str, Any]], main_rows: int) -> dict[str, Any]:
    return {
        "benchmark": "drift",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_end": os.getloadavg(),
        },
        "main_rows": main_rows,
        "targets": {
            "ours_seconds_max": 3.0,
            "speedup_vs_scipy_min": 5.0,
            "speedup_vs_evidently_min": 30.0,
            "peak_rss_over_input_max": 1.5,
        },
        "results": rows,
    }


def _print(report: dict[str, Any]) -> None:
    mib = 1 << 20
    print(
        f"\n{'rows':>11} {'profile s':>10} {'ours s':>8} {'scipy s':>8} {'x scipy':>8} "
        f"{'ours RSS MiB':>13} {'input MiB':>10} {'RSS/input':>10} {'ours cpu s':>10}"
    )
    for row in report["results"]:
        ours = row["ours"]
        scipy = row.get("scipy", {})
        both = row["input_bytes_reference"] + row["input_bytes_current"]
        print(
            f"{row['rows']:>11,} {row['profile']['seconds']:>10.2f} {ours['seconds']:>8.2f} "
            f"{scipy.get('seconds', float('nan')):>8.2f} {_ratio(scipy, ours):>8} "
            f"{ours['peak_rss_bytes'] / mib:>13.0f} {both / mib:>10.0f} "
            f"{ours['peak_rss_bytes'] / both:>10.2f} {ours['cpu_seconds_process']:>10.2f}"
        )
    main = next(r for r in report["results"] if r["rows"] == report["main_rows"])
    both = main["input_bytes_reference"] + main["input_bytes_current"]
    print(f"\n{main['rows']:,} rows x {main['columns']} columns, same data for every contender:")
    print(
        f"{'contender':<18} {'wall s':>8} {'cpu s':>8} {'peak RSS MiB':>13} {'RSS/input':>10} "
        f"{'ours faster by':>15}"
    )
    for name in ("ours", "ours_all_pvalues", "scipy", "evidently"):
        if name in main:
            item = main[name]
            print(
                f"{name:<18} {item['seconds']:>8.2f} {item['cpu_seconds_process']:>8.2f} "
                f"{item['peak_rss_bytes'] / mib:>13.0f} {item['peak_rss_bytes'] / both:>10.2f} "
                f"{_ratio(item, main['ours']):>15}"
            )
    print("input = reference + current, Arrow in-memory size; RSS = peak of that process;")
    print("cpu s = user+sys CPU of the whole process, imports included (robust to load)")
    flat = report.get("flat_memory_check")
    if flat:
        one = next(r for r in report["results"] if r["rows"] == flat["profile_rows"])
        print(
            f"flat memory: 1M-row profile vs {flat['current_rows']:,}-row batch peak RSS "
            f"{flat['ours']['peak_rss_bytes'] / mib:.0f} MiB in {flat['ours']['seconds']:.1f} s "
            f"(vs {one['ours']['peak_rss_bytes'] / mib:.0f} MiB for the 1M-row batch)"
        )
    print(f"load average at the end: {report['machine']['load_average_at_end']}")


def _ratio(other: dict[str, Any], ours: dict[str, Any]) -> str:
    return f"{other['seconds'] / ours['seconds']:.1f}" if other else "-"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
