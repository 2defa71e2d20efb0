"""Import ``skops.io`` without the torch and dask imports its estimator walk would pay for.

MLflow saves and loads scikit-learn models with skops. On import, skops lists scikit-learn's
estimators with ``all_estimators()``, whose package walk imports every package under
``sklearn``, the vendored ``array_api_compat.torch`` and ``.dask`` among them: about 3 s of
CPU in every process that saves or loads a forest wherever torch is installed. The walk skips a
package that fails to import and neither holds an estimator, so hiding torch and dask for the
duration of the import gives skops the same trusted types at half the cost. A process that
already imported them keeps them; the hiding finder is gone when this returns.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec


class _HideTopLevel:
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
    hidden = _HideTopLevel({name for name in ("torch", "dask") if name not in sys.modules})
    sys.meta_path.insert(0, hidden)
    try:
        importlib.import_module("skops.io")
    finally:
        sys.meta_path.remove(hidden)
