"""What a make target would run, and the Debian package lists its installer reads: the tests
of ``make demo`` and ``make bench`` check the order of their commands and the lists."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.paths import REPO, VENV_BIN


def dry_run(target: str) -> list[str]:
    """The commands ``make -n TARGET`` prints, one a line (nothing runs)."""
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
    return done.stdout.splitlines()


def package_listing(path: Path) -> dict[str, str]:
    """A ``.ci/*-packages.txt`` list: package -> the binary that proves it is installed."""
    rows = [line.split() for line in path.read_text().splitlines()]
    return {row[0]: row[1] for row in rows if row and not row[0].startswith("#")}
