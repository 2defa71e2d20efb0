"""``import_skops`` gives skops the same trusted estimator types as a plain import, without
importing torch or dask on the way (each fresh interpreter: what the import leaves behind in
``sys.modules`` is the point)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.store import skops_import
from tests.support.paths import PROJECTS, TEMPLATES

TEMPLATE_PACKAGE = next((TEMPLATES / "mlflow-project").glob("*/{{cookiecutter.project_slug}}"))
COPIES = [
    PROJECTS / "rf" / "rf_project",
    PROJECTS / "multistep" / "multistep_project",
    TEMPLATE_PACKAGE,
]

_REPORT = """
import json, sys
{import_line}
from skops.io import _trusted_types as t
print(json.dumps({{
    "trusted": sorted(t.SKLEARN_ESTIMATOR_TYPE_NAMES),
    "imported": sorted({{m.split(".")[0] for m in sys.modules}} & {{"torch", "dask"}}),
    "finders": [type(f).__name__ for f in sys.meta_path],
}}))
"""


def _report(import_line: str) -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _REPORT.format(import_line=import_line)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report: dict[str, list[str]] = json.loads(done.stdout)
    return report


def test_the_same_trusted_types_without_torch() -> None:
    plain = _report("import skops.io")
    light = _report("from harness.store.skops_import import import_skops; import_skops()")
    assert "torch" in plain["imported"]  # what the cut saves: the walk imports torch
    assert light["imported"] == []
    assert light["trusted"] == plain["trusted"] and len(plain["trusted"]) > 100
    assert "_HideTopLevel" not in light["finders"]


def test_torch_imported_before_stays_usable() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import torch\n"
            "from harness.store.skops_import import import_skops\n"
            "import_skops()\n"
            "import torch.nn\n"
            "print(torch.nn.Linear(2, 1).weight.shape[1])",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert done.stdout.strip() == "2"


@pytest.mark.parametrize("package", COPIES, ids=lambda p: p.parent.name)
def test_every_standalone_copy_is_the_same_text(package: Path) -> None:
    canonical = Path(skops_import.__file__).read_text()
    assert (package / "skops_import.py").read_text() == canonical
