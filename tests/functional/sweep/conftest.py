"""The sweep tests' ``mlharness`` commands: forks of one process per test worker that imported
the CLI, MLflow and the sweep modules once (``tests/support/store_cli_forks.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.store_cli_forks import ForkedCli
from tests.support.sweeps import SWEEP_PRELOAD


@pytest.fixture(scope="session")
def forks() -> Iterator[ForkedCli]:
    """Each command is still its own process (argv, environment, cwd, stdout/stderr, exit
    code) and starts its own pool of trial workers; only the imports are shared."""
    with ForkedCli(SWEEP_PRELOAD) as zygote:
        yield zygote
