"""What the demo needs from the machine, checked before the first step runs.

The Debian packages of the steps are listed once, in ``.ci/demo-packages.txt`` (a package
and the binary that proves it is installed). ``make demo`` hands that list to
``.ci/install-debian-packages``, which installs the missing ones as root and otherwise
stops with one line naming the ``apt-get install`` command. This module makes the same
check against the PATH the steps run with, and says the same line, so a demo started by
hand stops before any step too: the demo requires its tools, it never skips a step.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from harness.kernel.errors import ExitCode, MlharnessError

__all__ = ["DEMO_PACKAGES", "MissingPackages", "Requirement", "check", "install_command", "missing"]

DEMO_PACKAGES = Path(__file__).resolve().parents[2] / ".ci" / "demo-packages.txt"


@dataclass(frozen=True)
class Requirement:
    """A Debian package and its probe: a binary on PATH, or an absolute path."""

    package: str
    probe: str

    def present(self, path: str) -> bool:
        if os.path.isabs(self.probe):
            return os.access(self.probe, os.X_OK)
        return shutil.which(self.probe, path=path) is not None


class MissingPackages(MlharnessError):
    """Debian packages of the demo's steps are not installed (exit 2)."""

    exit_code = ExitCode.BAD_INPUT


def _requirements(listing: Path) -> list[Requirement]:
    found = []
    for line in listing.read_text().splitlines():
        words = line.split()
        if words and not words[0].startswith("#"):
            found.append(Requirement(words[0], words[1]))
    return found


def missing(path: str, listing: Path = DEMO_PACKAGES) -> list[Requirement]:
    """The requirements of ``listing`` whose probe is not found on ``path``."""
    return [r for r in _requirements(listing) if not r.present(path)]


def install_command(packages: list[str]) -> str:
    """The command that installs ``packages`` (what the installer runs as root)."""
    return f"apt-get update && apt-get install -y --no-install-recommends {' '.join(packages)}"


def check(path: str, listing: Path = DEMO_PACKAGES) -> None:
    """Raise :class:`MissingPackages` (one line, the command in it) unless every package of
    ``listing`` is installed."""
    absent = missing(path, listing)
    if absent:
        packages = [r.package for r in absent]
        probes = ", ".join(r.probe for r in absent)
        raise MissingPackages(
            f"missing Debian packages: {' '.join(packages)} ({probes} not found); "
            f"run as root: {install_command(packages)}"
        )
