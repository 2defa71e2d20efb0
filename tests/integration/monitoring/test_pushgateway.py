"""``monitor drift --pushgateway`` against a real Prometheus Pushgateway started here.

The drift DAG pushes its report's gauges and last-success time (issue 12); DriftCheckStale
alerts on that time. Read back from the gateway's own /metrics, the pushed group must hold
every batch gauge of the catalogue, grouped by data set, under job ``mlharness_drift``.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.kernel.errors import ExternalServiceError
from monitoring.metric_names import BATCH_DRIFT_METRICS
from monitoring.operations import DriftOptions, DriftOutputs, build_reference_profile, check_drift
from tests.support.harness_cli import mlharness
from tests.support.mlflow_cli import CliResult
from tests.support.monitoring_data import frame, write
from tests.support.monitoring_servers import Server, start_pushgateway
from tests.support.servers import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_pushgateway(tmp_path_factory.mktemp("pushgateway"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("drift-push")
    write(frame(1500, 1), root / "train.csv")
    write(frame(1500, 2), root / "calm.parquet")
    write(frame(1500, 3, shift=1.0), root / "shifted.parquet")
    build_reference_profile(root / "train.csv", root / "ref" / "profile.json")
    return root


def _scrape(server: Server) -> str:
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as answer:
        return str(answer.read().decode())


def _samples(text: str, name: str, dataset: str) -> list[tuple[str, float]]:
    """``(labels, value)`` of each sample of ``name`` in the ``dataset`` group."""
    found = []
    for line in text.splitlines():
        match = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if match and 'job="mlharness_drift"' in match[1] and f'dataset="{dataset}"' in match[1]:
            found.append((match[1], float(match[2])))
    return found


def test_the_drift_operation_pushes_every_batch_gauge_grouped_by_data_set(
    gateway: Server, data: Path
) -> None:
    before = time.time()
    calm = check_drift(
        data / "ref" / "profile.json",
        data / "calm.parquet",
        DriftOptions(dataset="calm"),
        DriftOutputs(pushgateway=gateway.address),
    )
    shifted = check_drift(
        data / "ref" / "profile.json",
        data / "shifted.parquet",
        DriftOptions(dataset="shifted"),
        DriftOutputs(pushgateway=gateway.url),
    )
    assert not calm.drifted and shifted.drifted
    assert calm.pushed_to == gateway.address
    text = _scrape(gateway)
    for spec in BATCH_DRIFT_METRICS:
        if spec.name == "mlharness_concept_drift":
            continue  # no target and prediction in this profile: no concept-drift detector
        for dataset in ("calm", "shifted"):
            assert _samples(text, spec.name, dataset), (spec.name, dataset)
    # Drifted or not, the check completed: its last-success time is set, per data set.
    for dataset in ("calm", "shifted"):
        ((_, when),) = _samples(text, "mlharness_drift_last_success_timestamp_seconds", dataset)
        assert before <= when <= time.time()
    assert _samples(text, "mlharness_dataset_drift", "shifted")[0][1] == 1.0
    assert _samples(text, "mlharness_dataset_drift", "calm")[0][1] == 0.0
    x0 = [
        v
        for labels, v in _samples(text, "mlharness_drift_detected", "shifted")
        if 'column="x0"' in labels
    ]
    assert x0 == [1.0]
    # A second push of a data set replaces its group (no stale column left behind).
    again = check_drift(
        data / "ref" / "profile.json",
        data / "calm.parquet",
        DriftOptions(dataset="calm"),
        DriftOutputs(pushgateway=gateway.address),
    )
    assert again.plan.dataset == "calm"
    ((_, later),) = _samples(
        _scrape(gateway), "mlharness_drift_last_success_timestamp_seconds", "calm"
    )
    assert later >= when


def test_the_cli_pushes_and_exits_4_on_drift(gateway: Server, data: Path) -> None:
    done = _mlharness(
        data,
        "--current",
        "shifted.parquet",
        "--pushgateway",
        gateway.address,
        "--dataset",
        "cli-batch",
    )
    assert done.returncode == 4, done.stderr
    assert f"pushed the gauges to {gateway.address}" in done.stdout
    assert _samples(_scrape(gateway), "mlharness_dataset_drift", "cli-batch")[0][1] == 1.0


def test_an_unreachable_gateway_is_exit_5_after_the_reports_are_written(data: Path) -> None:
    dead = f"127.0.0.1:{free_port()}"
    out = data / "dead"
    done = _mlharness(
        data,
        "--current",
        "calm.parquet",
        "-o",
        str(out / "report.json"),
        "--prometheus-textfile",
        str(out / "drift.prom"),
        "--pushgateway",
        dead,
    )
    assert done.returncode == 5, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"error: cannot push the drift gauges to the Pushgateway {dead}: "
    ), done.stderr
    assert "Traceback" not in done.stderr
    assert json.loads((out / "report.json").read_text())["dataset_drift"] is False
    assert "mlharness_drift_last_success_timestamp_seconds" in (out / "drift.prom").read_text()
    # The operation says the same to a DAG task that calls it directly.
    with pytest.raises(ExternalServiceError):
        check_drift(
            data / "ref" / "profile.json",
            data / "calm.parquet",
            outputs=DriftOutputs(pushgateway=dead),
        )


def _mlharness(root: Path, *args: str) -> CliResult:
    """``mlharness monitor drift --reference ref/profile.json ARGS`` as a user runs it."""
    return mlharness(
        "monitor",
        "drift",
        "--reference",
        "ref/profile.json",
        *args,
        tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
        cwd=root,
        timeout=300,
    )
