"""The contract every project's parameter parser keeps on bad input."""

from __future__ import annotations

from collections.abc import Callable

import pytest


def assert_rejected(
    parse: Callable[[], object], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``parse()`` exits 2 with exactly one ``error:`` line on stderr containing ``needle``."""
    with pytest.raises(SystemExit) as exit_info:
        parse()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert needle in err
