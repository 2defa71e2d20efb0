"""The HTML drift report renders in headless Chromium: a screenshot and no console errors.

Chromium writes every page console message (console.log/error, uncaught exceptions) to
stderr as ``...:CONSOLE...`` lines with ``--enable-logging=stderr``; the report logs
nothing, so any such line is a failure. A control page with a script error proves that
the check does catch errors.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from monitoring.chunks import TableSource
from monitoring.drift import run_drift
from monitoring.policy import make_policy
from monitoring.profile import build_profile
from monitoring.report_html import write_html
from tests.support.monitoring_data import frame

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def render(page: Path, screenshot: Path, tmp_path: Path) -> list[str]:
    """Load ``page`` headless, save a screenshot; return the page's console lines."""
    assert CHROMIUM, "chromium is not installed (Debian package chromium, .ci/debian-packages.txt)"
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,1400",
            "--hide-scrollbars",
            f"--screenshot={screenshot}",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


def test_control_page_with_a_script_error_is_caught(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>undefinedThing.call();</script></body></html>")
    console = render(page, tmp_path / "broken.png", tmp_path)
    assert any("Uncaught ReferenceError" in line for line in console)


def test_report_renders_without_console_errors(tmp_path: Path) -> None:
    profile = build_profile(
        TableSource(frame(3000, 1)),
        name="train.parquet",
        target="target",
        prediction="prediction",
    )
    result = run_drift(
        profile,
        TableSource(frame(3000, 3, shift=0.6, accuracy=0.8)),
        make_policy([]),
        current_name="batch-2026-11-23.parquet",
    )
    page = write_html(result, tmp_path / "report.html")
    shot = tmp_path / "report.png"
    console = render(page, shot, tmp_path)
    assert console == []
    assert shot.stat().st_size > 20_000  # a real picture, not a blank page
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1280, 1400)
        colors = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colors is not None and len(colors) > 50  # text, bars, table: not blank
