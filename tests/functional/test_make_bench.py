"""``make bench`` on a fresh machine: wrk (bench/serve.py's load generator) comes from the
Debian package list the bench installs first, as ``make demo`` and ``make test`` do theirs."""

from __future__ import annotations

import pytest

from tests.support.make_targets import dry_run, package_listing
from tests.support.paths import REPO

pytestmark = pytest.mark.functional

BENCH_PACKAGES = REPO / ".ci" / "bench-packages.txt"
INSTALL_BENCH = "bash .ci/install-debian-packages .ci/bench-packages.txt"


def test_the_bench_list_names_wrk_and_make_test_installs_it_too() -> None:
    bench = package_listing(BENCH_PACKAGES)
    assert bench["wrk"] == "wrk"
    assert bench.items() <= package_listing(REPO / ".ci" / "debian-packages.txt").items()


@pytest.mark.parametrize("target", ["bench", "bench-docs"])
def test_make_bench_installs_its_packages_before_any_benchmark(target: str) -> None:
    lines = dry_run(target)
    install = lines.index(INSTALL_BENCH)
    run_all = next(i for i, line in enumerate(lines) if "bench/run_all.py" in line)
    assert install < run_all
