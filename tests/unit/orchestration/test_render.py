"""``mlharness airflow render``: golden files, byte-identical re-renders, DAGs that parse
under Airflow 3 with no heavy imports, ruff's Airflow rules, and compose files that validate.

Golden files: ``MLHARNESS_UPDATE_GOLDEN=1 pytest tests/unit/orchestration`` rewrites
``tests/golden/airflow/`` so a reviewer sees every change to the rendered files in the diff.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestration.pipelines.operations import SECRET_KEYS, TEMPLATE_DIR
from tests.support.airflow import (
    EXAMPLE,
    example,
    parse_dags,
    render_to,
    write_config,
)
from tests.support.paths import REPO, VENV_BIN

GOLDEN = REPO / "tests" / "golden" / "airflow"
UPDATE = os.environ.get("MLHARNESS_UPDATE_GOLDEN") == "1"
COMPOSE = shutil.which("docker-compose") or "/usr/bin/docker-compose"


def _normalised(relative: str, data: bytes, output: Path) -> str:
    """Rendered text with what depends on the machine masked: paths and secrets."""
    text = data.decode()
    text = text.replace(str(output.resolve()), "<OUT>").replace(str(REPO), "<REPO>")
    if relative == ".env":
        text = re.sub(rf"^({'|'.join(SECRET_KEYS)})=.*$", r"\1=<secret>", text, flags=re.M)
    return text


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The example rendered once per executor (the example lives in the repository)."""
    root = tmp_path_factory.mktemp("rendered")
    outputs = {}
    for executor in ("local", "celery"):
        output = root / executor
        render_to(EXAMPLE, output, executor)
        outputs[executor] = output
    return outputs


@pytest.mark.parametrize("executor", ["local", "celery"])
def test_rendered_files_match_the_golden_files(executor: str, rendered: dict[str, Path]) -> None:
    output = rendered[executor]
    files = sorted(str(p.relative_to(output)) for p in output.rglob("*") if p.is_file())
    assert files == [
        ".env",
        "Dockerfile",
        "README.md",
        "dags/rf_drift.py",
        "dags/rf_train.py",
        "docker-compose.yaml",
    ]
    golden = GOLDEN / executor
    for relative in files:
        text = _normalised(relative, (output / relative).read_bytes(), output)
        expected = golden / (relative + ".golden")
        if UPDATE:
            expected.parent.mkdir(parents=True, exist_ok=True)
            expected.write_text(text)
        assert expected.is_file(), f"no golden file {expected}; run with MLHARNESS_UPDATE_GOLDEN=1"
        assert text == expected.read_text(), (
            f"{relative} differs from {expected}; if intended, re-run with "
            "MLHARNESS_UPDATE_GOLDEN=1 and review the diff"
        )


def test_re_rendering_an_unchanged_config_is_byte_identical(tmp_path: Path) -> None:
    config = write_config(tmp_path, example())
    first = render_to(config, tmp_path / "out")
    before = {p: p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    again = render_to(config, tmp_path / "out")
    assert again.created == again.changed == [] and len(again.unchanged) == len(first.created)
    assert {p: p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()} == before
    assert oct((tmp_path / "out" / ".env").stat().st_mode & 0o777) == "0o600"
    # A changed config rewrites only the files that change; the secrets stay.
    write_config(tmp_path, example(**{"promotion.on_fail": "fail"}))
    changed = render_to(config, tmp_path / "out")
    assert changed.changed == ["dags/rf_drift.py", "dags/rf_train.py"]
    assert (tmp_path / "out" / ".env").read_bytes() == before[tmp_path / "out" / ".env"]


def test_a_dry_run_writes_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path, example())
    result = render_to(config, tmp_path / "out", dry_run=True)
    assert result.dry_run and "dags/rf_train.py" in result.created
    assert not (tmp_path / "out").exists()


VARIANTS: dict[str, dict[str, Any]] = {
    "example": {},
    "file_sensor": {"name": "sensed", "sensor": {"file": "data/in/*.csv"}},
    "asset_sensor": {"name": "on_asset", "sensor": {"asset": "s3://bucket/features"}},
    "asset_only": {"name": "manual", "schedule": None, "sensor": {"asset": "x://features"}},
    "retrain_no_gates": {
        "name": "retrain",
        "promotion.gates": [],
        "monitoring.drift.on_drift": "retrain",
        "monitoring.drift.schedule": None,
    },
    "one_step_cron": {"name": "single", "schedule": "30 2 * * 1-5", "steps": [{"name": "fit"}]},
}


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every variant rendered into one DAGs folder."""
    root = tmp_path_factory.mktemp("variants")
    dags = root / "dags"
    dags.mkdir()
    for name, changes in VARIANTS.items():
        data = example(**changes)
        if name == "one_step_cron":
            data["model"]["from_step"] = "fit"
        config = write_config(root / name, data)
        render_to(config, root / name / "out")
        for dag in (root / name / "out" / "dags").iterdir():
            shutil.copy(dag, dags / dag.name)
    return dags


def test_every_rendered_dag_imports_without_errors_or_heavy_modules(
    variants: Path, tmp_path: Path
) -> None:
    parsed = parse_dags(variants, tmp_path / "airflow-home")
    assert parsed["errors"] == {}
    assert parsed["heavy"] == [], "parsing a DAG file imported " + ", ".join(parsed["heavy"])
    dags = parsed["dags"]
    assert len(dags) == 2 * len(VARIANTS)
    train = dags["rf_train"]["tasks"]
    assert train == {
        "train": [],
        "evaluate": ["train"],
        "register": ["evaluate", "train"],
        "gate": ["register"],
        "promote": ["gate", "register"],
        "gate_failed": ["gate", "register"],
        "notify": ["gate_failed", "promote"],
    }
    assert dags["rf_train"]["outlets"] == {"promote": ["mlharness://models/rf/champion"]}
    assert dags["rf_drift"]["timetable"] == "AssetOrTimeSchedule"
    assert dags["rf_drift"]["tasks"] == {
        "check_drift": [],
        "drift_detected": ["check_drift"],
        "no_drift": ["check_drift"],
    }
    assert dags["sensed_train"]["tasks"]["train"] == ["wait_for_data"]
    assert dags["on_asset_train"]["timetable"] == "AssetOrTimeSchedule"
    assert dags["manual_train"]["timetable"] == "AssetTriggeredTimetable"
    assert dags["retrain_drift"]["timetable"] == "AssetTriggeredTimetable"
    assert dags["single_train"]["tasks"]["register"] == ["fit"]


def test_rendered_dags_pass_ruffs_airflow_rules(variants: Path) -> None:
    done = subprocess.run(
        [
            str(VENV_BIN / "ruff"),
            "check",
            "--isolated",
            "--select",
            "AIR,E,F,I,UP,B",
            "--ignore",
            "E501",
            str(variants),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    formatted = subprocess.run(
        [str(VENV_BIN / "ruff"), "format", "--isolated", "--check", str(variants)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


def _scalars(data: object, where: str = "") -> list[tuple[str, str, object]]:
    """(path, key, value) of every scalar in a YAML document."""
    found: list[tuple[str, str, object]] = []
    items = (
        data.items()
        if isinstance(data, dict)
        else enumerate(data)
        if isinstance(data, list)
        else []
    )
    for key, value in items:
        path = f"{where}.{key}"
        if isinstance(value, dict | list):
            found += _scalars(value, path)
        else:
            found.append((path, str(key), value))
    return found


def _compose(output: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((output / "docker-compose.yaml").read_text())
    return data


@pytest.mark.parametrize("executor", ["local", "celery"])
def test_compose_files_validate_offline(executor: str, rendered: dict[str, Path]) -> None:
    output = rendered[executor]
    done = subprocess.run(
        [COMPOSE, "-f", str(output / "docker-compose.yaml"), "config", "-q"],
        cwd=output,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "is not set" not in done.stderr, done.stderr  # every variable comes from .env


@pytest.mark.parametrize("executor", ["local", "celery"])
def test_compose_healthchecks_start_order_and_no_inline_secrets(
    executor: str, rendered: dict[str, Path]
) -> None:
    output = rendered[executor]
    resolved = subprocess.run(
        [COMPOSE, "-f", str(output / "docker-compose.yaml"), "config"],
        cwd=output,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    services = yaml.safe_load(resolved.stdout)["services"]
    expected = {
        "postgres",
        "mlflow-db",
        "mlflow",
        "airflow-init",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
    }
    if executor == "celery":
        expected |= {"redis", "airflow-worker"}
    assert set(services) == expected
    for name, service in services.items():
        if name != "airflow-init":
            assert "healthcheck" in service and service["healthcheck"]["test"], name
        assert service["networks"] == {"mlharness": None} or "mlharness" in service["networks"]
    init = services["airflow-init"]["command"]
    assert "airflow db migrate" in " ".join(init) and "airflow users create" in " ".join(init)
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor"):
        depends = services[name]["depends_on"]
        assert depends["airflow-init"] == {"condition": "service_completed_successfully"}
        assert depends["postgres"] == {"condition": "service_healthy"}
        assert depends["mlflow"] == {"condition": "service_healthy"}
    assert services["mlflow"]["depends_on"]["mlflow-db"] == {"condition": "service_healthy"}
    assert "mlflow-artifacts:/mlartifacts" in " ".join(
        f"{v['source']}:{v['target']}" if isinstance(v, dict) else v
        for v in services["mlflow"]["volumes"]
    )
    if executor == "celery":
        assert services["airflow-worker"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == (
            "CeleryExecutor"
        )
        assert services["airflow-scheduler"]["depends_on"]["redis"] == {
            "condition": "service_healthy"
        }
    # Stable names other stacks can join.
    raw = _compose(output)
    assert raw["networks"] == {"mlharness": {"name": "mlharness"}}
    assert {v["name"] for v in raw["volumes"].values()} == {
        "mlharness-airflow-db",
        "mlharness-airflow-logs",
        "mlharness-mlflow-db",
        "mlharness-mlflow-artifacts",
    }
    # No secret is inline: every secret of .env reaches the compose file only by reference.
    source = (output / "docker-compose.yaml").read_text()
    env = dict(
        line.split("=", 1)
        for line in (output / ".env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    for key in SECRET_KEYS:
        assert len(env[key]) >= 24
        assert env[key] not in source
    assert set(re.findall(r"(?<!\$)\$\{([A-Z_]+)", source)) <= set(env) | {"AIRFLOW_WORKERS"}
    for where, key, value in _scalars(raw):
        if re.search(r"(?i)password|secret|fernet|jwt|token", key):
            assert re.fullmatch(r"\$\{[A-Z_]+(:\?[^}]*)?\}", str(value)), (where, value)
        for password in re.findall(r"://[^:/@\s]*:([^@\s]+)@", str(value)):
            assert password.startswith("${"), (where, value)
    assert "AIRFLOW_WORKERS=2" in (output / ".env").read_text() or executor == "local"


def test_template_renders_with_no_input() -> None:
    cookiecutter_json = yaml.safe_load((TEMPLATE_DIR / "cookiecutter.json").read_text())
    assert cookiecutter_json["_ctx"] == {}
    assert not any(
        key for key in cookiecutter_json if not key.startswith("_") and key != "stack_dir"
    )
