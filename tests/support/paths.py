"""Where things are in the repository."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROJECTS = REPO / "projects"
TEMPLATES = REPO / "templates"
VENV_BIN = Path(sys.executable).parent
MLFLOW = str(VENV_BIN / "mlflow")
MLHARNESS = str(VENV_BIN / "mlharness")
