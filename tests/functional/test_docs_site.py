"""The documentation site builds, its generated pages are what the code generates now, and
the README stays a short front door whose links and architecture table match the tree.

The reference pages (commands, pipeline config, metrics, manifest) are written by
``docs/tools/gen_reference.py``, the script ``make docs`` runs; here it writes into a
temporary directory and every committed page must equal its output. The site is built with
``mkdocs build --strict`` and the validation settings of ``mkdocs.yml``, so a broken link or
anchor, a nav entry without its page and a page missing from the nav all fail the build.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.paths import REPO, VENV_BIN

pytestmark = pytest.mark.functional

DOCS = REPO / "docs"
REFERENCE = DOCS / "reference"
GENERATOR = DOCS / "tools" / "gen_reference.py"
README_MAX_LINES = 200


def _diff(committed: Path, generated: Path) -> str:
    lines = difflib.unified_diff(
        committed.read_text(encoding="utf-8").splitlines(keepends=True),
        generated.read_text(encoding="utf-8").splitlines(keepends=True),
        f"{committed.relative_to(REPO)} (committed)",
        f"{committed.relative_to(REPO)} (from the code now)",
    )
    return "".join(list(lines)[:60])


def test_every_reference_page_is_what_the_code_generates_now(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    generated = {page.name for page in tmp_path.glob("*.md")}
    committed = {page.name for page in REFERENCE.glob("*.md")}
    assert generated, "the generator wrote no page"
    assert committed == generated, (
        f"docs/reference/ holds {sorted(committed)}, the generator writes {sorted(generated)}: "
        "run `make docs` and commit docs/reference/"
    )
    stale = [
        _diff(REFERENCE / name, tmp_path / name)
        for name in sorted(generated)
        if (REFERENCE / name).read_bytes() != (tmp_path / name).read_bytes()
    ]
    assert not stale, (
        "reference pages differ from what the code generates now; run `make docs` and commit "
        "docs/reference/:\n" + "\n".join(stale)
    )


def _nav_pages(nav: object) -> list[str]:
    """Every page path named in mkdocs.yml's nav, depth first."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [page for item in nav for page in _nav_pages(item)]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in _nav_pages(value)]
    return []


def test_the_site_builds_strict_with_every_nav_page(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [str(VENV_BIN / "mkdocs"), "build", "--strict", "--site-dir", str(site)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stderr, done.stderr

    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = _nav_pages(config["nav"])
    assert len(pages) == len(set(pages)), f"a page is twice in the nav: {pages}"
    for page in pages:
        assert (DOCS / page).is_file(), f"mkdocs.yml's nav names {page}, which does not exist"
        built = site / ("index.html" if page == "index.md" else page.removesuffix(".md"))
        if page != "index.md":
            built = built / "index.html"
        assert built.is_file(), f"{page} was not built ({built})"
    generated = {f"reference/{name.name}" for name in REFERENCE.glob("*.md")}
    assert generated <= set(pages), "every generated reference page is in the nav"


_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_the_readme_is_short_and_every_link_in_it_resolves() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"
    links = [link for link in _LINK.findall(text) if not re.match(r"[a-z]+:", link)]
    into_docs = [link for link in links if link.startswith("docs/")]
    assert len(into_docs) >= 10, f"the README links into the docs only {into_docs}"
    for link in links:
        path, _, anchor = link.partition("#")
        target = REPO / path
        assert target.exists(), f"README.md links to {link}, which does not exist"
        if anchor and target.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", target.read_text(encoding="utf-8"), re.M)
            slugs = {re.sub(r"[^\w\- ]", "", h.lower()).strip().replace(" ", "-") for h in headings}
            assert anchor in slugs, f"README.md links to {link}: no such heading in {path}"
    assert text.count("| 70 |") == 1, "the exit-code table is in the README exactly once"


def _readme_architecture() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return text.split("\n## Architecture", 1)[1].split("\n## ", 1)[0]


def _readme_architecture_rows() -> dict[str, str]:
    """``{command name: package cell}`` from the README's architecture table."""
    rows: dict[str, str] = {}
    for line in _readme_architecture().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not cells[0].startswith("`mlharness "):
            continue
        first, *others = re.findall(r"`([^`]+)`", cells[0])
        names = [first.split()[1], *(other.split()[0] for other in others if " " not in other)]
        for name in names:
            rows[name] = cells[1]
    return rows


def test_the_readme_architecture_table_names_the_package_of_every_command() -> None:
    from harness.app import COMMANDS

    rows = _readme_architecture_rows()
    missing = sorted(set(COMMANDS) - set(rows))
    assert not missing, f"the README's architecture table lacks the commands {missing}"
    unknown = sorted(set(rows) - set(COMMANDS))
    assert not unknown, f"the README's architecture table names no-longer commands {unknown}"
    for name, cell in rows.items():
        module = COMMANDS[name].target.partition(":")[0]
        package = module.rpartition(".")[0].replace(".", "/") + "/"
        paths = re.findall(r"`([^`]+/)`", cell)
        assert paths, f"no package named for `mlharness {name}`"
        assert paths[0] == package, (
            f"README: `mlharness {name}` is in {paths[0]}, but COMMANDS mounts {module}"
        )
    for path in re.findall(r"`(\w+/[\w/.]*)`", _readme_architecture()):
        assert (REPO / path).exists(), f"the README's architecture names {path}: not in the tree"
