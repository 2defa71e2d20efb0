"""``harness.templating.render_tree``: the one atomic renderer behind ``new``, ``airflow render``
and ``monitor render``. A render is all or nothing: a failure at any step leaves the old tree
as it was and no staging directory behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.kernel.errors import MlharnessError
from harness.templating import RenderedTree, TemplateError, render_tree


def _template(root: Path) -> Path:
    """A small template: ``{{name}}/a.txt``, ``sub/b.txt``, and ``z.txt`` that fails to render
    when ``fail`` is ``yes`` (an undefined variable, after the other files were written)."""
    template = root / "template"
    project = template / "{{ cookiecutter.name }}"
    (project / "sub").mkdir(parents=True)
    (template / "cookiecutter.json").write_text(
        json.dumps({"name": "demo", "body": "hello", "fail": "no", "_ctx": {}})
    )
    (project / "a.txt").write_text("{{ cookiecutter.body }}\n")
    (project / "sub" / "b.txt").write_text("{{ cookiecutter._ctx.secret | default('none') }}\n")
    (project / "z.txt").write_text(
        "{% if cookiecutter.fail == 'yes' %}{{ cookiecutter.nope }}{% endif %}end\n"
    )
    return template


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _render(template: Path, into: Path, **kwargs: object) -> RenderedTree:
    context = kwargs.pop("context", {})
    return render_tree(template, context, into, **kwargs)  # type: ignore[arg-type]


def test_a_failure_mid_render_leaves_the_old_tree_and_no_staging_dir(tmp_path: Path) -> None:
    template = _template(tmp_path)
    into = tmp_path / "out"
    first = _render(template, into, context={"body": "old"})
    assert first.path == into / "demo" and not first.existed
    assert _tree(into / "demo") == {"a.txt": b"old\n", "sub/b.txt": b"none\n", "z.txt": b"end\n"}
    before = _listing(into)

    with pytest.raises(TemplateError) as caught:
        _render(template, into, context={"body": "new", "fail": "yes"})
    assert "nope" in caught.value.one_line() and "\n" not in caught.value.one_line()
    assert caught.value.__cause__ is not None
    assert _listing(into) == before  # no staging directory, nothing half-written
    assert (into / "demo" / "a.txt").read_text() == "old\n"


def test_a_failed_first_render_removes_the_directories_it_created(tmp_path: Path) -> None:
    with pytest.raises(TemplateError):
        _render(_template(tmp_path), tmp_path / "a" / "b", context={"fail": "yes"})
    assert not (tmp_path / "a").exists()


def test_swap_replaces_the_whole_tree_and_skips_an_identical_one(tmp_path: Path) -> None:
    template = _template(tmp_path)
    into = tmp_path / "out"
    _render(template, into, name="stack")
    (into / "stack" / "mine.txt").write_text("not rendered")
    replaced = _render(template, into, name="stack", context={"body": "changed"})
    assert replaced.existed and replaced.changed == ["a.txt"] and replaced.extra == ["mine.txt"]
    assert not (into / "stack" / "mine.txt").exists()
    assert (into / "stack" / "a.txt").read_text() == "changed\n"

    inode = (into / "stack").stat().st_ino
    again = _render(template, into, name="stack", context={"body": "changed"})
    assert again.same and again.unchanged == again.files == ["a.txt", "sub/b.txt", "z.txt"]
    assert (into / "stack").stat().st_ino == inode  # left alone, not swapped
    assert os.listdir(into) == ["stack"]


def test_may_replace_refuses_before_anything_is_placed(tmp_path: Path) -> None:
    template = _template(tmp_path)
    into = tmp_path / "out"
    _render(template, into)
    before = _tree(into)

    def refuse(target: Path) -> None:
        raise MlharnessError(f"{target} is not ours")

    for dry_run in (False, True):
        for name in (None, "demo"):  # known before the render, or only after it
            with pytest.raises(MlharnessError, match="is not ours"):
                _render(template, into, name=name, dry_run=dry_run, may_replace=refuse)
            assert _tree(into) == before and os.listdir(into) == ["demo"]


def test_a_failed_swap_puts_the_old_tree_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = _template(tmp_path)
    into = tmp_path / "out"
    _render(template, into)
    before = _tree(into)
    real_replace = os.replace
    calls: list[str] = []

    def failing_second_rename(src: object, dst: object) -> None:
        calls.append(str(dst))
        if len(calls) == 2:  # the old tree is aside; putting the new one in place fails
            raise OSError("disk full")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr("harness.templating.os.replace", failing_second_rename)
    with pytest.raises(OSError, match="disk full"):
        _render(template, into, context={"body": "new"})
    assert _tree(into) == before and os.listdir(into) == ["demo"]


def test_update_moves_in_only_what_differs_and_keeps_other_files(tmp_path: Path) -> None:
    template = _template(tmp_path)
    into = tmp_path / "out"
    first = _render(template, into, name="stack", placement="update", modes={"a.txt": 0o600})
    assert first.created == ["a.txt", "sub/b.txt", "z.txt"]
    assert (into / "stack" / "a.txt").stat().st_mode & 0o777 == 0o600
    (into / "stack" / "logs").mkdir()
    (into / "stack" / "logs" / "run.log").write_text("kept")
    unchanged_inode = (into / "stack" / "z.txt").stat().st_ino

    second = _render(
        template, into, name="stack", placement="update", context={"_ctx": {"secret": "s3"}}
    )
    assert second.changed == ["sub/b.txt"] and second.unchanged == ["a.txt", "z.txt"]
    assert second.extra == ["logs/run.log"]
    assert (into / "stack" / "logs" / "run.log").read_text() == "kept"
    assert (into / "stack" / "sub" / "b.txt").read_text() == "s3\n"
    assert (into / "stack" / "z.txt").stat().st_ino == unchanged_inode
    assert sorted(os.listdir(into)) == ["stack"]


def test_a_dry_run_creates_nothing_and_reports(tmp_path: Path) -> None:
    template = _template(tmp_path)
    into = tmp_path / "a" / "b"
    plan = _render(template, into, dry_run=True)
    assert plan.dry_run and plan.created == ["a.txt", "sub/b.txt", "z.txt"]
    assert plan.path == into / "demo"
    assert not (tmp_path / "a").exists()


def test_the_private_context_stays_in_the_staging_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``user_config`` cookiecutter's replay (the whole context, secrets included)
    is written inside the staging directory, never to the user's replay dir."""
    home = tmp_path / "home"
    config = tmp_path / "cookiecutter.yaml"
    config.write_text(f"replay_dir: {home / 'replay'}\ncookiecutters_dir: {home / 'cc'}\n")
    monkeypatch.setenv("COOKIECUTTER_CONFIG", str(config))
    template = _template(tmp_path)
    private = _render(template, tmp_path / "out", context={"_ctx": {"secret": "s3cret"}})
    assert private.answers == {"name": "demo", "body": "hello", "fail": "no"}
    assert not home.exists()

    mine = _render(template, tmp_path / "mine", context={"body": "x"}, user_config=True)
    assert mine.answers["body"] == "x"
    assert (home / "replay" / "template.json").is_file()
