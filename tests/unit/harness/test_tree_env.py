"""Tree digests, the local environment description and tracking URI handling."""

from __future__ import annotations

import os
from pathlib import Path

from harness.kernel.digests import tree_digest
from harness.run.environment import describe, freeze
from harness.store.mlflow_boundary import absolute_uri


def test_tree_digest_follows_content_names_and_exec_bit_not_location(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for root in (a, b):
        (root / "pkg").mkdir(parents=True)
        (root / "pkg" / "m.py").write_text("x = 1\n")
    assert tree_digest(a) == tree_digest(b)
    (b / "mlruns").mkdir()
    (b / "mlruns" / "meta.yaml").write_text("run output")
    (b / "mlflow.db").write_bytes(b"db")
    assert tree_digest(a) == tree_digest(b)
    os.chmod(b / "pkg" / "m.py", 0o755)
    assert tree_digest(a) != tree_digest(b)
    os.chmod(b / "pkg" / "m.py", 0o644)
    (b / "pkg" / "m.py").rename(b / "pkg" / "n.py")
    assert tree_digest(a) != tree_digest(b)


def test_local_environment_lists_this_interpreters_packages(tmp_path: Path) -> None:
    packages = freeze()
    assert any(p.lower().startswith("mlflow==") for p in packages)
    assert packages == sorted(packages, key=str.lower)
    section = describe(tmp_path, "local")
    assert section["pip_freeze"] == packages and len(str(section["lock_digest"])) == 64


def test_relative_sqlite_uris_become_absolute(tmp_path: Path) -> None:
    assert absolute_uri("sqlite:///mlflow.db") == f"sqlite:///{Path.cwd() / 'mlflow.db'}"
    assert absolute_uri("sqlite:////abs/x.db") == "sqlite:////abs/x.db"
    assert absolute_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
