"""The demo requires its tools: ``make demo`` installs the Debian packages of its steps as
root (.ci/install-debian-packages with .ci/demo-packages.txt), and otherwise, like the demo
started by hand, stops with one line naming the ``apt-get install`` command (exit 2)
before any step runs.

The packages cannot be uninstalled on a shared machine, so the missing case is a PATH
without their binaries (every probe is a binary on PATH), and the install is the
installer's dry run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from orchestration.demo.prerequisites import DEMO_PACKAGES, install_command
from tests.support.make_targets import dry_run, package_listing
from tests.support.paths import REPO

pytestmark = pytest.mark.functional

INSTALLER = REPO / ".ci" / "install-debian-packages"
DEBIAN_PACKAGES = REPO / ".ci" / "debian-packages.txt"


DEMO = package_listing(DEMO_PACKAGES)
ONE_LINE = (
    f"error: missing Debian packages: {' '.join(DEMO)} ({', '.join(DEMO.values())} not found); "
    f"run as root: {install_command(list(DEMO))}"
)


def _installer(
    *args: str, path: str, user: str | None = None, script: Path = INSTALLER
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/bash", str(script), *args],
        env={"PATH": path},
        user=user,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_demo_needs_promtool_and_make_test_installs_every_demo_package() -> None:
    assert DEMO["prometheus"] == "promtool"
    assert DEMO.items() <= package_listing(DEBIAN_PACKAGES).items()


def test_the_demo_without_its_binaries_stops_with_one_line_and_exit_2(tmp_path: Path) -> None:
    # This venv's python by absolute path, and a PATH with none of the Debian binaries.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PATH"] = str(tmp_path / "empty")
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.demo", "--output", "out"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert (done.stdout, done.stderr) == ("", ONE_LINE + "\n")
    # No step ran: nothing was written, not even the store.
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_the_installer_not_as_root_says_the_same_line_and_exits_2() -> None:
    # CI runs as root: the installer then runs as nobody, from a copy nobody can read (the
    # checkout may sit in a directory only root can enter, as a `mktemp -d` clone does).
    user = "nobody" if os.geteuid() == 0 else None
    readable = Path(tempfile.mkdtemp(prefix="mlharness-installer-"))
    try:
        readable.chmod(0o755)
        installer = Path(shutil.copy2(INSTALLER, readable))
        packages = Path(shutil.copy2(DEMO_PACKAGES, readable))
        done = _installer(str(packages), path="/nonexistent", user=user, script=installer)
    finally:
        shutil.rmtree(readable)
    assert done.returncode == 2, done.stderr
    assert (done.stdout, done.stderr) == ("", ONE_LINE + "\n")


def test_the_installers_dry_run_names_the_command_it_would_run_as_root() -> None:
    done = _installer("--dry-run", str(DEMO_PACKAGES), path="/nonexistent")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        f"debian packages (demo-packages.txt): missing {' '.join(DEMO)} "
        f"({', '.join(DEMO.values())} not found); would run: {install_command(list(DEMO))}\n"
    )


def test_the_installer_finds_packages_by_their_probes(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for probe in DEMO.values():
        (bin_dir / probe).write_text("#!/bin/sh\n")
        (bin_dir / probe).chmod(0o755)
    done = _installer("--dry-run", str(DEMO_PACKAGES), path=str(bin_dir))
    assert (done.returncode, done.stdout) == (
        0,
        "debian packages (demo-packages.txt): all present\n",
    )
    # One probe gone: only its package is missing.
    (bin_dir / "promtool").unlink()
    done = _installer("--dry-run", str(DEMO_PACKAGES), path=str(bin_dir))
    assert "missing prometheus (promtool not found)" in done.stdout, done.stdout
    assert done.stdout.endswith(f"would run: {install_command(['prometheus'])}\n")


def test_make_demo_runs_the_installer_on_the_demo_list_before_the_demo() -> None:
    lines = dry_run("demo")
    install = lines.index("bash .ci/install-debian-packages .ci/demo-packages.txt")
    demo = next(i for i, line in enumerate(lines) if line.endswith("-m orchestration.demo"))
    assert install < demo
