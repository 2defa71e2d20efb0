"""Import ``skops.io`` without the torch and dask imports its estimator walk would pay for.

MLflow saves and loads scikit-learn models with skops by default. On import, skops lists
scikit-learn's estimators with ``sklearn.utils.all_estimators()``, whose
``pkgutil.walk_packages`` imports every package under ``sklearn`` on the way, the vendored
``sklearn.externals.array_api_compat.torch`` and ``.dask`` among them. Wherever torch is
installed that import costs about 3 s of CPU in every process that saves or loads a forest:
the trainer, ``evaluate``, the scoring server, the promotion gate, drift profiles.

The walk skips a package whose import raises ``ImportError``, and neither torch nor dask
holds an estimator, so hiding both for the duration of the import gives skops the same list
of trusted estimator types (208 with scikit-learn 1.9.1) at half the cost. A process that
already imported torch or dask loses nothing: they stay visible. Nothing else imports while
the finder is in place, and it is removed before this function returns.

One text, four places: ``harness/store/``, each scikit-learn project's package and the
mlflow-project template's package (projects and generated projects run standalone, without
mlharness); tests/unit/store/test_skops_import.py keeps the copies identical.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec

HIDDEN_FOR_THE_WALK = ("torch", "dask")


class _HideTopLevel:
    """A meta-path finder that makes the named top-level packages fail to import."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: object = None
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"{fullname} is hidden while skops lists estimators")
        return None


def import_skops() -> None:
    """Import ``skops.io`` (a no-op when it is imported already), torch and dask hidden."""
    if "skops.io" in sys.modules:
        return
    hidden = _HideTopLevel({name for name in HIDDEN_FOR_THE_WALK if name not in sys.modules})
    sys.meta_path.insert(0, hidden)
    try:
        importlib.import_module("skops.io")
    finally:
        sys.meta_path.remove(hidden)
