"""``make bench`` on a fresh machine: wrk (bench/serve.py's load generator) comes from the
Debian package list the bench installs first, as ``make demo`` and ``make test`` do theirs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.paths import REPO, VENV_BIN

pytestmark = pytest.mark.functional

BENCH_PACKAGES = REPO / ".ci" / "bench-packages.txt"
INSTALL_BENCH = "bash .ci/install-debian-packages .ci/bench-packages.txt"


def _listing(path: Path) -> dict[str, str]:
    rows = [line.split() for line in path.read_text().splitlines()]
    return {row[0]: row[1] for row in rows if row and not row[0].startswith("#")}


def test_the_bench_list_names_wrk_and_make_test_installs_it_too() -> None:
    bench = _listing(BENCH_PACKAGES)
    assert bench["wrk"] == "wrk"
    assert bench.items() <= _listing(REPO / ".ci" / "debian-packages.txt").items()


@pytest.mark.parametrize("target", ["bench", "bench-docs"])
def test_make_bench_installs_its_packages_before_any_benchmark(target: str) -> None:
    done = subprocess.run(
        ["make", "-n", target],
        cwd=REPO,
        env={**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    install = lines.index(INSTALL_BENCH)
    run_all = next(i for i, line in enumerate(lines) if "bench/run_all.py" in line)
    assert install < run_all
