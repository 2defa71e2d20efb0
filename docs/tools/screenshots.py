"""Take the documentation site's screenshots from real output, with headless Chromium.

Each shot makes its page the way a user would (the real commands, on data made here) and
photographs it into ``docs/images/``:

- ``drift-report``: ``mlharness monitor profile`` of a seeded training set, then ``mlharness
  monitor drift --html`` of a drifted batch against it; the HTML report, as a browser shows it.

Usage: ``python docs/tools/screenshots.py [NAME ...]`` (default: every shot). Needs the Debian
package ``chromium`` (in ``.ci/debian-packages.txt``). A shot of a running service (such as the
Airflow UI) adds a function to :data:`SHOTS` that starts it, calls :func:`shoot` on its URL and
stops it.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "docs" / "images"

__all__ = ["IMAGES", "SHOTS", "drift_report", "main", "shoot"]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit(
        "error: chromium not found (install the Debian package: apt-get install chromium)"
    )


def shoot(
    url: str,
    out: Path,
    *,
    width: int = 1280,
    height: int = 1500,
    budget_ms: int = 3000,
    timeout_ms: int | None = None,
) -> Path:
    """Photograph ``url`` with headless Chromium into the PNG ``out``.

    ``--virtual-time-budget`` lets the page's scripts run (the report sorts its table and
    draws its plots in the browser) before the picture is taken.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mlharness-shot-") as profile:
        subprocess.run(
            [
                _chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--virtual-time-budget={budget_ms}",
                f"--screenshot={out}",
                # A page that keeps polling (a web app) never settles: take it at this time.
                *([f"--timeout={timeout_ms}"] if timeout_ms else []),
                url,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    if not out.is_file() or out.stat().st_size == 0:
        raise SystemExit(f"error: chromium wrote no screenshot to {out}")
    return out


def _mlharness(*args: str, cwd: Path, allowed: tuple[int, ...] = (0,)) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness.app", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode not in allowed:
        raise SystemExit(
            f"error: mlharness {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}"
        )


def _drift_data(directory: Path) -> tuple[Path, Path]:
    """A seeded training set and a batch where four of five features and the error rate
    moved (so the report shows feature, categorical and concept drift)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    rows = 5000

    def frame(shift: float, scale: float, cat_p: list[float], error_rate: float) -> pd.DataFrame:
        target = rng.integers(0, 2, rows)
        wrong = rng.random(rows) < error_rate
        return pd.DataFrame(
            {
                "x0": rng.normal(shift, 1.0, rows),
                "x1": rng.exponential(1.0 + scale, rows),
                "x2": rng.normal(10.0 + 1.3 * shift, 2.0, rows),
                "x3": rng.uniform(0.0, 1.0, rows),
                "cat": rng.choice(["a", "b", "c"], rows, p=cat_p),
                "target": target,
                "prediction": np.where(wrong, 1 - target, target),
            }
        )

    train = directory / "train.parquet"
    batch = directory / "batch.parquet"
    frame(0.0, 0.0, [0.55, 0.3, 0.15], 0.1).to_parquet(train, index=False)
    frame(0.6, 1.5, [0.1, 0.2, 0.7], 0.2).to_parquet(batch, index=False)
    return train, batch


def drift_report(out_dir: Path = IMAGES) -> Path:
    """The HTML drift report of a drifted batch, as a browser shows it."""
    with tempfile.TemporaryDirectory(prefix="mlharness-drift-shot-") as tmp:
        work = Path(tmp)
        train, batch = _drift_data(work)
        report = work / "drift-report.html"
        # Names relative to the work dir: the report shows them as a user's would look.
        _mlharness(
            "monitor", "profile", train.name, "-o", "profile.json",
            "--target", "target", "--prediction", "prediction",
            cwd=work,
        )  # fmt: skip
        # Exit 4: the batch drifted, which is what the picture is for.
        _mlharness(
            "monitor", "drift", "--reference", "profile.json", "--current", batch.name,
            "--html", report.name,
            cwd=work, allowed=(4,),
        )  # fmt: skip
        return shoot(report.as_uri(), out_dir / "drift-report.png", height=1300)


SHOTS: dict[str, Callable[[Path], Path]] = {
    "drift-report": drift_report,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"shots to take (default: all of {list(SHOTS)})")
    parser.add_argument("--out", type=Path, default=IMAGES, help="directory for the PNG files")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(SHOTS))
    if unknown:
        parser.error(f"unknown shot(s) {unknown}; known: {sorted(SHOTS)}")
    for name in args.names or list(SHOTS):
        print(f"wrote {SHOTS[name](args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
