"""The rendered stack, live: a real Prometheus scrapes a real ``mlharness serve``, a real
blackbox exporter and a real Pushgateway; a real Alertmanager delivers to a receiver run by
the test. Short intervals (scrape 1 s, ``for`` 2 s) so alerts fire within seconds; every wait
is a poll with a generous deadline, never a timed assert; every process is stopped.

The SLO test shortens the SLO window to 12 hours, so the burn-rate windows shrink with it
(the fast page's 1h/5m become 60s/5s): a stream with 50% of 5xx answers (a model that
raises on a marker row) pages within a minute. Its golden probes expect the served model's
answers; moving the alias to a model that answers differently trips WrongAnswers until the
DAG's promote task writes the new answers and reloads the blackbox exporter.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from monitoring.metric_names import SERVER_METRICS
from monitoring.stack.operations import write_stack
from monitoring.stack.promql import metric_names
from tests.support.monitoring_servers import (
    Receiver,
    Server,
    get_json,
    start_alertmanager,
    start_blackbox,
    start_prometheus,
    start_pushgateway,
    start_receiver,
    start_serve,
    wait_until,
)
from tests.support.servers import free_port
from tests.support.stores import fresh_store_uri

if TYPE_CHECKING:
    import pandas as pd

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# A "model" with known answers for the SLO test, logged as models-from-code: class
# (f0 + f1 > 0), inverted when model_config asks; a row whose f2 is the marker raises, so
# `mlharness serve` answers that request 500 (a real 5xx, through the real server).
RULE_MODEL = """
import numpy as np
import pandas as pd
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

MARKER = 999.0


class RuleModel(PythonModel):
    def load_context(self, context):
        self.invert = bool((context.model_config or {}).get("invert"))

    def predict(self, context, model_input, params=None):
        frame = pd.DataFrame(model_input)
        if (frame["f2"] == MARKER).any():
            raise ValueError("a marker row: this request fails on purpose")
        answer = (frame["f0"] + frame["f1"] > 0).to_numpy().astype(np.int64)
        return 1 - answer if self.invert else answer


set_model(RuleModel())
"""
MARKER = 999.0
RULE = "stack-e2e-rule"

MODEL = "stack-e2e-model"
ALIAS = "champion"
FEATURES = ("f0", "f1", "f2")
DEADLINE_S = 120.0


@dataclass(frozen=True)
class ServedModel:
    tracking_uri: str
    reference: Path  # the training frame (features + target) as CSV
    profile: Path
    drifted: Path  # a batch with f0 and f1 shifted


@pytest.fixture(scope="module")
def served_model(tmp_path_factory: pytest.TempPathFactory) -> ServedModel:
    """A classifier registered as MODEL@ALIAS with its reference profile logged beside it."""
    import mlflow
    import numpy as np
    import pandas as pd
    from mlflow import MlflowClient
    from sklearn.linear_model import LogisticRegression

    from monitoring.operations import ProfileOptions, build_reference_profile

    root = tmp_path_factory.mktemp("stack-model")
    uri = fresh_store_uri(root / "mlflow.db")  # migrated once per machine, copied
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.normal(size=(400, len(FEATURES))), columns=list(FEATURES))
    target = (frame.f0 + frame.f1 > 0).astype(int)
    reference = root / "train.csv"
    frame.assign(target=target).to_csv(reference, index=False)
    drifted = root / "batch.csv"
    frame.assign(f0=frame.f0 + 3.0, f1=frame.f1 + 3.0).to_csv(drifted, index=False)
    mlflow.set_tracking_uri(uri)
    try:
        # Not mlflow.set_experiment: it exports MLFLOW_EXPERIMENT_ID into this xdist worker,
        # and every later test's subprocess would look for this store's experiment.
        experiment_id = MlflowClient(uri).create_experiment("stack-e2e")
        with mlflow.start_run(experiment_id=experiment_id) as run:
            mlflow.log_artifact(str(reference), "data")
            info = mlflow.sklearn.log_model(
                LogisticRegression().fit(frame, target),
                name="model",
                input_example=frame.head(5),
                serialization_format="cloudpickle",
                pip_requirements=["scikit-learn"],
            )
        client = MlflowClient(uri)
        client.create_registered_model(MODEL)
        version = client.create_model_version(
            MODEL, info.model_uri, run.info.run_id, model_id=info.model_id
        )
        client.set_registered_model_alias(MODEL, ALIAS, version.version)
        profile = root / "profile.json"
        options = ProfileOptions(
            model=f"models:/{MODEL}@{ALIAS}", tracking_uri=uri, target="target"
        )
        build_reference_profile(None, profile, options)
    finally:
        mlflow.set_tracking_uri(None)
    return ServedModel(uri, reference, profile, drifted)


@dataclass(frozen=True)
class RuleModels:
    tracking_uri: str
    golden: pd.DataFrame  # the golden request's rows
    answers: list[int]  # version 1's predictions for them (version 2 inverts them)


@pytest.fixture(scope="module")
def rule_models(served_model: ServedModel) -> RuleModels:
    """Two versions of RULE in the same store: 1 (champion) and 2 (inverted answers)."""
    import mlflow
    import pandas as pd
    from mlflow import MlflowClient

    frame = pd.read_csv(served_model.reference)[list(FEATURES)]
    code = served_model.reference.parent / "rule_model.py"
    code.write_text(RULE_MODEL)
    uri = served_model.tracking_uri
    client = MlflowClient(uri)
    experiment = client.create_experiment("stack-e2e-rule")
    client.create_registered_model(RULE)
    mlflow.set_tracking_uri(uri)
    try:
        for invert in (False, True):
            with mlflow.start_run(experiment_id=experiment) as run:
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=str(code),
                    model_config={"invert": invert},
                    input_example=frame.head(3),
                    pip_requirements=["pandas"],
                )
            client.create_model_version(
                RULE, info.model_uri, run.info.run_id, model_id=info.model_id
            )
        client.set_registered_model_alias(RULE, ALIAS, "1")
    finally:
        mlflow.set_tracking_uri(None)
    golden = frame.iloc[10:13]
    answers = [int(x) for x in (golden.f0 + golden.f1 > 0).astype(int)]
    assert len(set(answers)) > 1  # both classes: an inverted answer is a different text
    return RuleModels(uri, golden, answers)


class Traffic:
    """One small ``/invocations`` request every 0.1 s from a thread; ``drift()`` shifts f0;
    ``fail(share)`` makes that share of requests carry the marker row (answered 500)."""

    def __init__(self, url: str, reference: Path) -> None:
        import pandas as pd

        self.url = url
        self.rows = pd.read_csv(reference)[list(FEATURES)]
        self.shift = 0.0
        self.failing_every = 0
        self.sent = 0
        self.failed = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="traffic", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        position = 0
        count = 0
        while not self.stopped.wait(0.1):
            chunk = self.rows.iloc[position : position + 5].copy()
            position = (position + 5) % (len(self.rows) - 5)
            chunk["f0"] = chunk["f0"] + self.shift
            count += 1
            if self.failing_every and count % self.failing_every == 0:
                chunk.iloc[0, chunk.columns.get_loc("f2")] = MARKER
            body = json.dumps(
                {"dataframe_split": chunk.to_dict(orient="split", index=False)}
            ).encode()
            request = urllib.request.Request(
                self.url, body, {"Content-Type": "application/json"}, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=10):
                    self.sent += 1
            except urllib.error.HTTPError as exc:
                self.failed += exc.code >= 500
            except OSError:
                pass

    def drift(self) -> None:
        self.shift = 4.0

    def fail(self, share: float) -> None:
        self.failing_every = round(1 / share) if share else 0

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=15)


@dataclass
class Stack:
    out: Path
    serve: Server
    prometheus: Server
    alertmanager: Server
    pushgateway: Server
    receiver: Receiver
    traffic: Traffic
    blackbox: Server | None = None

    def firing(self) -> set[tuple[str, str]]:
        """(alertname, state) of every alert Prometheus holds right now."""
        data = get_json(f"{self.prometheus.url}/api/v1/alerts")["data"]
        assert isinstance(data, dict)
        return {(a["labels"]["alertname"], a["state"]) for a in data["alerts"]}

    def alertmanager_alerts(self) -> list[dict[str, object]]:
        with urllib.request.urlopen(f"{self.alertmanager.url}/api/v2/alerts", timeout=10) as r:
            alerts = json.loads(r.read())
        assert isinstance(alerts, list)
        return alerts

    def delivered(self, title: str) -> bool:
        return any(t.startswith(title) for t in self.receiver.titles())

    def inhibited(self, alertname: str, **wanted: str) -> bool:
        """Alertmanager holds ``alertname`` (with the ``wanted`` labels) suppressed by an
        inhibition."""
        for alert in self.alertmanager_alerts():
            labels, status = alert["labels"], alert["status"]
            assert isinstance(labels, dict) and isinstance(status, dict)
            if labels.get("alertname") == alertname and wanted.items() <= labels.items():
                return status.get("state") == "suppressed" and bool(status.get("inhibitedBy"))
        return False


def _config(tmp: Path, ports: dict[str, int], webhook_file: Path) -> Path:
    config = {
        "name": "stack_e2e",
        "project": {"path": "."},
        "steps": [{"name": "train"}],
        "model": {"name": MODEL},
        "promotion": {"alias": ALIAS},
        "serving": {"host": "127.0.0.1", "port": ports["serve"]},
        "monitoring": {
            "features": list(FEATURES),
            "scrape_interval_s": 1,
            "evaluation_interval_s": 1,
            "alert_for_s": 2,
            "serving_url": f"http://127.0.0.1:{ports['serve']}",
            "mlflow_url": "",  # no MLflow server in this test
            "pushgateway_url": f"http://127.0.0.1:{ports['pushgateway']}",
            "alertmanager_url": f"http://127.0.0.1:{ports['alertmanager']}",
            "blackbox_url": f"http://127.0.0.1:{ports['blackbox']}",
            "thresholds": {"no_traffic_minutes": 1},
            # group_wait leaves time for the critical to reach Alertmanager before a
            # warning of the same service is flushed (inhibition is decided at flush).
            "alerts": {"webhook_url_file": str(webhook_file), "group_wait_s": 5},
        },
    }
    path = tmp / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture
def stack(served_model: ServedModel, tmp_path: Path) -> Iterator[Stack]:
    """Render the stack for free ports, then start serve, traffic and every server."""
    ports = {name: free_port() for name in ("serve", "pushgateway", "alertmanager", "blackbox")}
    receiver = start_receiver()
    started: list[Server] = []
    traffic: Traffic | None = None
    try:
        webhook_file = tmp_path / "webhook_url"
        webhook_file.write_text(receiver.url + "\n")
        out = tmp_path / "stack"
        write_stack(_config(tmp_path, ports, webhook_file), out)
        extra = ["--drift-interval", "1", "--drift-window-rows", "100", "--reload-interval", "0"]
        serve = start_serve(
            f"models:/{MODEL}@{ALIAS}",
            served_model.tracking_uri,
            tmp_path,
            port=ports["serve"],
            extra=extra,
        )
        started.append(serve)
        traffic = Traffic(f"{serve.url}/invocations", served_model.reference)
        started.append(start_pushgateway(tmp_path, ports["pushgateway"]))
        started.append(start_blackbox(out / "blackbox.yml", tmp_path, ports["blackbox"]))
        started.append(
            start_alertmanager(out / "alertmanager.yml", tmp_path, ports["alertmanager"])
        )
        started.append(start_prometheus(out / "prometheus.yml", tmp_path))
        yield Stack(out, serve, started[-1], started[-2], started[1], receiver, traffic)
    finally:
        if traffic is not None:
            traffic.stop()
        for server in reversed(started):
            server.stop()
        receiver.stop()
    assert all(not s.running() for s in started)


def _targets_up(stack: Stack) -> bool:
    data = get_json(f"{stack.prometheus.url}/api/v1/targets")["data"]
    assert isinstance(data, dict)
    health = {(t["labels"]["job"], t["health"]) for t in data["activeTargets"]}
    return {("scoring", "up"), ("pushgateway", "up"), ("blackbox", "up")} <= health


def _query(stack: Stack, expr: str) -> dict[str, object]:
    query = urllib.parse.urlencode({"query": expr})
    try:
        return get_json(f"{stack.prometheus.url}/api/v1/query?{query}")
    except urllib.error.HTTPError as exc:  # 400: the expression does not parse
        return {"status": "error", "error": exc.read().decode(errors="replace")}


def _live_names(stack: Stack) -> set[str]:
    values = get_json(f"{stack.prometheus.url}/api/v1/label/__name__/values")["data"]
    assert isinstance(values, list)
    return set(values)


def test_alerts_fire_route_and_inhibit_against_real_servers(
    stack: Stack, served_model: ServedModel
) -> None:
    from monitoring.operations import DriftOptions, DriftOutputs, check_drift

    wait_until(
        "Prometheus scrapes serve, the Pushgateway and the probes",
        lambda: _targets_up(stack),
        DEADLINE_S,
    )

    # The batch drift check pushes its gauges and last-success time to the real Pushgateway.
    pushed = check_drift(
        served_model.profile,
        served_model.drifted,
        DriftOptions(dataset="batch"),
        DriftOutputs(pushgateway=stack.pushgateway.url),
    )
    assert pushed.drifted
    wait_until(
        "the pushed gauges are scraped",
        lambda: "mlharness_drift_last_success_timestamp_seconds" in _live_names(stack),
        DEADLINE_S,
    )

    # Every metric the stack's expressions read from the scoring server, the blackbox or the
    # Pushgateway is in the live scrape (the classifier exports predicted_class, not
    # prediction_value; no MLflow server runs here).
    server_series = {s for m in SERVER_METRICS for s in m.series()}
    used: set[str] = set()
    for rules_file in [*(stack.out / "alerts").glob("*.yml"), *(stack.out / "rules").glob("*.yml")]:
        for group in yaml.safe_load(rules_file.read_text())["groups"]:
            for rule in group["rules"]:
                used |= metric_names(rule["expr"])
    wait_until(
        "a prediction and a probe are scraped",
        lambda: {"mlharness_predicted_class_total", "probe_success"} <= _live_names(stack),
        DEADLINE_S,
    )
    expected = {
        n
        for n in used
        if (n in server_series or n.startswith("probe_") or n.startswith("mlharness_drift"))
        and not n.startswith("mlharness_prediction_value")
    } | {"mlharness_dataset_drift_share"}
    missing = expected - _live_names(stack)
    assert not missing, f"the stack reads metrics nobody exports live: {sorted(missing)}"

    # Every dashboard panel's query is valid PromQL for the live Prometheus, and every panel
    # but the MLflow server's (none runs here) shows data.
    board = json.loads((stack.out / "grafana/dashboards/mlharness-model.json").read_text())
    targets = [(p["title"], t["expr"]) for p in board["panels"] for t in p["targets"]]

    def empty_panels() -> list[str]:
        empty = []
        for title, expr in targets:
            answer = _query(stack, expr)
            assert answer["status"] == "success", (title, answer)
            data = answer["data"]
            assert isinstance(data, dict)
            if not data["result"] and "MLflow" not in title:
                empty.append(f"{title}: {expr}")
        return empty

    still_empty: list[str] = []

    def all_panels_show_data() -> bool:
        still_empty[:] = empty_panels()
        return not still_empty

    try:
        wait_until("every panel shows data", all_panels_show_data, DEADLINE_S)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; empty: {still_empty}") from None

    # The batch check found data-set drift: DatasetDrift reaches the receiver.
    wait_until(
        "DatasetDrift delivered", lambda: stack.delivered("[FIRING] DatasetDrift"), DEADLINE_S
    )

    # Traffic with an injected shift of f0: the online gauge drifts and FeatureDrift fires.
    stack.traffic.drift()
    wait_until(
        "FeatureDrift firing in Prometheus",
        lambda: ("FeatureDrift", "firing") in stack.firing(),
        DEADLINE_S,
    )
    wait_until(
        "FeatureDrift delivered", lambda: stack.delivered("[FIRING] FeatureDrift"), DEADLINE_S
    )
    assert not stack.delivered("[FIRING] EndpointDown")

    # The scoring server goes away: EndpointDown (critical) reaches the receiver ...
    stack.traffic.stop()
    stack.serve.stop()
    wait_until(
        "EndpointDown delivered",
        lambda: stack.delivered("[FIRING] EndpointDown (critical, scoring)"),
        DEADLINE_S,
    )
    # ... and NoTraffic (a warning of the same service) fires in Prometheus but is
    # inhibited: Alertmanager holds it suppressed by EndpointDown and never delivers it.
    wait_until("NoTraffic firing", lambda: ("NoTraffic", "firing") in stack.firing(), DEADLINE_S)

    wait_until(
        "NoTraffic inhibited in Alertmanager", lambda: stack.inhibited("NoTraffic"), DEADLINE_S
    )
    # The online drift gauges went with the server: DriftMetricsAbsent (service drift-check,
    # so no critical of the scoring service covers it) fires and stays inhibited; the batch
    # check's DatasetDrift does not depend on the endpoint and is not.
    wait_until(
        "DriftMetricsAbsent (online) firing",
        lambda: ("DriftMetricsAbsent", "firing") in stack.firing(),
        DEADLINE_S,
    )
    wait_until(
        "DriftMetricsAbsent inhibited while the endpoint is down",
        lambda: stack.inhibited("DriftMetricsAbsent", source="online"),
        DEADLINE_S,
    )
    assert not stack.inhibited("DatasetDrift")
    # Long enough for its group to be flushed twice over (group_wait 5 s).
    wait_until(
        "a later notification (the receiver keeps working)",
        lambda: len(stack.receiver.received()) >= 3,
        DEADLINE_S,
    )
    threading.Event().wait(8)
    assert not stack.delivered("[FIRING] NoTraffic"), stack.receiver.titles()


# -- the SLO, the golden probes and the heartbeat, live ----------------------------------------


def _slo_config(tmp: Path, ports: dict[str, int], webhook: Path, models: RuleModels) -> Path:
    body = {"dataframe_split": models.golden.to_dict(orient="split", index=False)}
    config = {
        "name": "stack_slo",
        "project": {"path": "."},
        "tracking_uri": models.tracking_uri,
        "steps": [{"name": "train"}],
        "model": {"name": RULE},
        "promotion": {"alias": ALIAS},
        "serving": {"host": "127.0.0.1", "port": ports["serve"]},
        "monitoring": {
            "scrape_interval_s": 1,
            "evaluation_interval_s": 1,
            "alert_for_s": 2,
            "serving_url": f"http://127.0.0.1:{ports['serve']}",
            "mlflow_url": "",
            "pushgateway_url": f"http://127.0.0.1:{ports['pushgateway']}",
            "alertmanager_url": f"http://127.0.0.1:{ports['alertmanager']}",
            "blackbox_url": f"http://127.0.0.1:{ports['blackbox']}",
            "alerts": {
                "webhook_url_file": str(webhook),
                "heartbeat_url_file": str(webhook),
                "heartbeat_interval_s": 5,
                "group_wait_s": 1,
            },
            "golden": {
                "requests": [{"name": "typical", "body": body, "expected": models.answers}],
                "from_input_example": True,
                "stack_dir": str(tmp / "stack"),
            },
        },
        # 12 hours: the burn-rate windows shrink with it (fast page: 60s and 5s).
        "slo": {"window_days": 0.5, "availability": {"objective_percent": 99.5}},
    }
    path = tmp / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture
def slo_stack(rule_models: RuleModels, tmp_path: Path) -> Iterator[tuple[Stack, Path]]:
    """The stack of RULE@champion with an SLO and golden probes; yields it and its config."""
    ports = {name: free_port() for name in ("serve", "pushgateway", "alertmanager", "blackbox")}
    receiver = start_receiver()
    started: list[Server] = []
    traffic: Traffic | None = None
    try:
        webhook = tmp_path / "webhook_url"
        webhook.write_text(receiver.url + "\n")
        config = _slo_config(tmp_path, ports, webhook, rule_models)
        out = tmp_path / "stack"
        write_stack(config, out)
        serve = start_serve(
            f"models:/{RULE}@{ALIAS}",
            rule_models.tracking_uri,
            tmp_path,
            port=ports["serve"],
            extra=["--reload-interval", "1"],
        )
        started.append(serve)
        reference = tmp_path / "rows.csv"
        rule_models.golden.sample(200, replace=True, random_state=1).to_csv(reference, index=False)
        traffic = Traffic(f"{serve.url}/invocations", reference)
        started.append(start_pushgateway(tmp_path, ports["pushgateway"]))
        started.append(start_blackbox(out / "blackbox.yml", tmp_path, ports["blackbox"]))
        started.append(
            start_alertmanager(out / "alertmanager.yml", tmp_path, ports["alertmanager"])
        )
        started.append(start_prometheus(out / "prometheus.yml", tmp_path))
        stack = Stack(
            out, serve, started[-1], started[-2], started[1], receiver, traffic, started[2]
        )
        yield stack, config
    finally:
        if traffic is not None:
            traffic.stop()
        for server in reversed(started):
            server.stop()
        receiver.stop()
    assert all(not s.running() for s in started)


def _golden_success(stack: Stack) -> dict[str, float]:
    answer = _query(stack, 'probe_success{job="golden"}')
    data = answer["data"]
    assert isinstance(data, dict)
    return {r["metric"]["golden"]: float(r["value"][1]) for r in data["result"]}


def test_fast_burn_pages_and_wrong_answers_last_until_the_promote_task(
    slo_stack: tuple[Stack, Path], rule_models: RuleModels, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.store.registry import Registry
    from orchestration.pipelines import tasks
    from registry_tools.aliases import set_alias

    stack, config_path = slo_stack
    wait_until(
        "Prometheus scrapes serve, the Pushgateway, the probes and the golden probes",
        lambda: _targets_up(stack) and set(_golden_success(stack)) == {"typical", "input_example"},
        DEADLINE_S,
    )
    # The heartbeat reaches its receiver.
    wait_until("Watchdog delivered", lambda: stack.delivered("[FIRING] Watchdog"), DEADLINE_S)
    # Version 1 answers the golden request as the config expects; nothing burns yet.
    # (The input example's body is unknown before a promotion: its probe checks that
    # /invocations exists, a GET answered 405.)
    wait_until(
        "the golden request answered right",
        lambda: _golden_success(stack) == {"typical": 1.0, "input_example": 1.0},
        DEADLINE_S,
    )
    assert ("AvailabilityFastBurnPage", "firing") not in stack.firing()
    assert not any(name == "WrongAnswers" for name, _ in stack.firing())

    # Half the requests answered 500: 100x the 0.5% budget, over both 60s and 5s (the 60s
    # window's share passes 14.4 x 0.5% within 9 s of it).
    stack.traffic.fail(0.5)
    wait_until(
        "AvailabilityFastBurnPage firing",
        lambda: ("AvailabilityFastBurnPage", "firing") in stack.firing(),
        DEADLINE_S,
    )
    wait_until(
        "AvailabilityFastBurnPage delivered",
        lambda: stack.delivered("[FIRING] AvailabilityFastBurnPage (critical, scoring)"),
        DEADLINE_S,
    )
    assert stack.traffic.failed > 0
    ratio = _query(stack, 'slo:sli_error:ratio_rate5s{slo="availability"}')["data"]
    assert isinstance(ratio, dict) and ratio["result"]
    stack.traffic.fail(0)

    # The alias moves by hand (no promote task) to version 2, which answers differently:
    # the server reloads it and the golden probe sees the wrong answer.
    set_alias(Registry(rule_models.tracking_uri), RULE, ALIAS, "2")
    wait_until(
        "WrongAnswers firing", lambda: ("WrongAnswers", "firing") in stack.firing(), DEADLINE_S
    )
    wait_until(
        "WrongAnswers delivered",
        lambda: stack.delivered("[FIRING] WrongAnswers (critical, scoring)"),
        DEADLINE_S,
    )
    expected_before = (stack.out / "golden" / "expected.json").read_text()

    # The DAG's promote task for version 2: the alias is already there, and the probes
    # learn version 2's answers (blackbox.yml rewritten, the exporter reloaded, no restart).
    assert stack.blackbox is not None
    blackbox_pid = stack.blackbox.process.pid
    pipeline = yaml.safe_load(config_path.read_text())
    # The task points this process's MLflow at the store, as it does in an Airflow worker:
    # the environment is restored after the test, the global URI right away.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", rule_models.tracking_uri)
    try:
        promoted = tasks.promote(pipeline, {"version": "2"})
    finally:
        import mlflow

        mlflow.set_tracking_uri(None)
    assert promoted["changed"] == "false"
    assert promoted["golden_probes"] == "typical,input_example"
    expected = json.loads((stack.out / "golden" / "expected.json").read_text())
    assert {p["source"] for p in expected["probes"]} == {f"models:/{RULE}/2"}
    inverted = json.dumps({"predictions": [1 - a for a in rule_models.answers]})
    assert expected["probes"][0]["answer"] == inverted
    assert (stack.out / "golden" / "expected.json").read_text() != expected_before
    wait_until(
        "WrongAnswers resolved after the promote task",
        lambda: not any(name == "WrongAnswers" for name, _ in stack.firing()),
        DEADLINE_S,
    )
    wait_until(
        "both golden probes succeed against version 2",
        lambda: _golden_success(stack) == {"typical": 1.0, "input_example": 1.0},
        DEADLINE_S,
    )
    # Reloaded, not restarted: the same exporter process serves the new modules.
    assert stack.blackbox.running() and stack.blackbox.process.pid == blackbox_pid
    # A re-render keeps the answers the promotion wrote.
    write_stack(config_path, stack.out)
    assert json.loads((stack.out / "golden" / "expected.json").read_text()) == expected
