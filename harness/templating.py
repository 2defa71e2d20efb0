"""Cookiecutter templates, shared by every command that writes a tree from one: where the
templates are (``TEMPLATES_DIR``), and (in one place) how a template becomes a rendered tree.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["TEMPLATES_DIR"]


def _templates_dir() -> Path:
    """templates/ as package data of an installed wheel (``harness/templates``), else beside
    the harness package in the repository (an editable install or a checkout)."""
    from importlib.resources import files

    packaged = Path(str(files("harness"))) / "templates"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "templates"


TEMPLATES_DIR = _templates_dir()
