"""The registry Python API on a real sqlite store with real rf runs."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from harness.store.registry import Registry
from registry_tools import aliases, catalog, evaluation, tags, versions
from registry_tools.audit import AuditRecord, trail
from registry_tools.errors import GateError, RegistryError
from registry_tools.promote import PromotionRequest, promote
from registry_tools.rollback import rollback
from tests.functional.registry.conftest import Regressors, Trained, registry_state, two_versions

pytestmark = [pytest.mark.functional, pytest.mark.xdist_group("registry-functional")]


def test_register_is_idempotent_for_every_source_form(trained: Trained, model_name: str) -> None:
    registry = Registry(trained.tracking_uri)
    first = versions.register(registry, trained.weak, model_name, tags={"team": "a"})
    assert first.created and first.version is not None
    assert first.version.status == "READY" and first.version.tags == {"team": "a"}
    model_uri = first.version.source
    assert model_uri.startswith("models:/m-")
    for source in (trained.weak, f"runs:/{trained.weak}/model", model_uri):
        again = versions.register(registry, source, model_name)
        assert not again.created and again.version is not None
        assert again.version.version == first.version.version
    assert [v.version for v in versions.all_versions(registry, model_name)] == ["1"]
    other = versions.register(registry, trained.strong, model_name)
    assert other.created and other.version is not None and other.version.version == "2"


def test_register_dry_run_changes_nothing(trained: Trained, model_name: str) -> None:
    registry = Registry(trained.tracking_uri)
    before = registry_state(trained.tracking_uri)
    plan = versions.register(registry, trained.weak, model_name, dry_run=True)
    assert plan.created and plan.version is None
    assert plan.plan[0] == f"create registered model {model_name!r}"
    assert registry_state(trained.tracking_uri) == before


@pytest.mark.parametrize(
    "source,needle",
    [
        ("0" * 32, "Run with id=00000000000000000000000000000000 not found"),
        ("models:/m-doesnotexist", "m-doesnotexist"),
        ("models:/rf/1", "is not a logged model"),
        ("somewhere/else", "is not recognised"),
    ],
)
def test_register_bad_source(trained: Trained, model_name: str, source: str, needle: str) -> None:
    registry = Registry(trained.tracking_uri)
    before = registry_state(trained.tracking_uri)
    with pytest.raises(RegistryError) as caught:
        versions.register(registry, source, model_name)
    assert needle in caught.value.one_line()
    assert registry_state(trained.tracking_uri) == before


def test_show_has_lineage_with_and_without_manifest(trained: Trained, model_name: str) -> None:
    registry = Registry(trained.tracking_uri)
    versions.register(registry, trained.weak, model_name)
    versions.register(registry, trained.strong, model_name)
    view = catalog.show(registry, model_name)
    by_run = {row.run_id: row for row in view.versions}
    weak, strong = by_run[trained.weak], by_run[trained.strong]
    assert weak.params["n_estimators"] == "3" and strong.params["max_depth"] == "6"
    assert {"accuracy", "f1", "roc_auc", "log_loss"} <= set(weak.metrics)
    assert set(weak.datasets) == {"breast_cancer_train", "breast_cancer_test"}
    assert weak.manifest is None  # plain `mlflow run`
    assert strong.manifest is not None  # `mlharness run` logs mlharness/manifest.json
    assert strong.manifest.digest is not None and len(strong.manifest.digest) == 64
    assert strong.manifest.tree_digest is not None
    json.dumps(view.to_dict())  # JSON-ready


def test_tags_and_descriptions(trained: Trained, model_name: str) -> None:
    registry = Registry(trained.tracking_uri)
    versions.register(registry, trained.weak, model_name)
    tags.set_tags(registry, model_name, "1", {"owner": "ml", "note": "x=y"})
    tags.remove_tags(registry, model_name, "1", ["note"])
    tags.describe(registry, model_name, "1", "first try")
    tags.describe(registry, model_name, None, "the rf family")
    info = versions.get(registry, model_name, "1")
    assert info.tags == {"owner": "ml"} and info.description == "first try"
    assert registry.get_model(model_name).description == "the rf family"
    before = registry_state(trained.tracking_uri)
    with pytest.raises(RegistryError, match="has no tag 'nope'"):
        tags.remove_tags(registry, model_name, "1", ["owner", "nope"])
    tags.set_tags(registry, model_name, "1", {"owner": "other"}, dry_run=True)
    assert registry_state(trained.tracking_uri) == before


def test_promote_moves_alias_and_writes_the_audit_record(trained: Trained, model_name: str) -> None:
    registry = two_versions(trained, model_name)
    request = PromotionRequest(
        model_name,
        "champion",
        ["accuracy>=0.5", "log_loss<=champion.log_loss"],
        from_alias="challenger",
    )
    done = promote(registry, request)
    assert done.applied and done.record is not None
    assert registry.holder(model_name, "champion") == "2"
    tags_on_2 = versions.get(registry, model_name, "2").tags
    record = AuditRecord.from_version_tags("champion", "2", tags_on_2)
    assert record.previous == "1" and record.action == "promote" and record.user
    assert [g.gate for g in record.gates] == ["accuracy>=0.5", "log_loss<=champion.log_loss"]
    assert all(g.passed for g in record.gates)
    history = trail("champion", registry.get_model(model_name).tags)
    assert [(r.action, r.previous, r.version) for r in history] == [
        ("set", None, "1"),
        ("promote", "1", "2"),
    ]
    # Rollback returns to the previous holder and is itself audited.
    back = rollback(registry, model_name, "champion")
    assert back.target == "1" and registry.holder(model_name, "champion") == "1"
    history = trail("champion", registry.get_model(model_name).tags)
    assert history[-1].action == "rollback" and history[-1].previous == "2"
    with pytest.raises(RegistryError, match="no earlier holder"):
        rollback(registry, model_name, "champion")


def test_failing_gate_changes_nothing(trained: Trained, model_name: str) -> None:
    registry = two_versions(trained, model_name)
    before = registry_state(trained.tracking_uri)
    request = PromotionRequest(
        model_name, "champion", ["accuracy>=0.5", "accuracy>=1.01"], from_alias="challenger"
    )
    refused = promote(registry, request)
    assert refused.refused and not refused.applied and refused.record is None
    assert [r.passed for r in refused.plan.results] == [True, False]
    error = refused.refusal()
    assert isinstance(error, GateError) and int(error.exit_code) == 3
    assert "1 of 2 gate(s) failed: accuracy>=1.01" in error.one_line()
    assert registry_state(trained.tracking_uri) == before


def test_rollback_refuses_an_alias_moved_outside_mlharness(
    trained: Trained, model_name: str
) -> None:
    registry = two_versions(trained, model_name)
    registry.client.set_registered_model_alias(model_name, "champion", "2")
    with pytest.raises(RegistryError, match="moved outside mlharness"):
        rollback(registry, model_name, "champion")


def test_alias_rm_then_rollback_restores_it(trained: Trained, model_name: str) -> None:
    registry = two_versions(trained, model_name)
    aliases.remove_alias(registry, model_name, "champion")
    assert registry.holder(model_name, "champion") is None
    rollback(registry, model_name, "champion")
    assert registry.holder(model_name, "champion") == "1"


def test_champion_alias_loads_and_predicts(
    trained: Trained, model_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = two_versions(trained, model_name)
    promote(
        registry,
        PromotionRequest(model_name, "champion", ["f1>=champion.f1"], from_alias="challenger"),
    )
    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained.tracking_uri)
    mlflow.set_tracking_uri(trained.tracking_uri)
    try:
        model = mlflow.pyfunc.load_model(f"models:/{model_name}@champion")
        frame = pd.read_csv(trained.test_csv).drop(columns=["target"])
        predictions = model.predict(frame)
    finally:
        mlflow.set_tracking_uri(None)
    assert len(predictions) == len(frame)
    assert set(pd.Series(predictions).unique()) <= {0, 1}
    assert model.metadata.run_id == trained.strong


def test_model_type_override_is_what_evaluate_uses(
    trained: Trained, regressors: Regressors, model_name: str
) -> None:
    """Without ``model_type`` the regressor is scored as one; forced to "classifier" the
    evaluator refuses its continuous targets (exit 2, one line)."""
    registry = Registry(trained.tracking_uri)
    versions.register(registry, regressors.strong, model_name)
    scored = evaluation.score(registry, model_name, "1", regressors.csv, "target")
    assert scored.model_type == "regressor" and scored.model_type_from == "sklearn LinearRegression"
    assert scored.metrics["r2"] > 0.9
    with pytest.raises(RegistryError, match="cannot evaluate version 1") as caught:
        evaluation.score(
            registry, model_name, "1", regressors.csv, "target", model_type="classifier"
        )
    assert "continuous" in caught.value.one_line()


def test_two_threads_register_into_two_stores_at_once(tmp_path: Path) -> None:
    """Each store has its own logged model; a registration resolved through the other
    thread's store (MLflow's global URI) would fail with "Logged model not found"."""
    import mlflow
    from sklearn.dummy import DummyClassifier

    from harness.store.mlflow_boundary import fluent_uri

    uris = [f"sqlite:///{tmp_path / f'store{i}.db'}" for i in (0, 1)]
    registry_state(uris[0])  # creates the first store's tables; the second is a copy
    shutil.copyfile(tmp_path / "store0.db", tmp_path / "store1.db")
    model_ids = []
    for index, uri in enumerate(uris):
        with fluent_uri(uri), mlflow.start_run(experiment_id="0"):
            fitted = DummyClassifier().fit([[0.0], [1.0]], [0, 1])
            # requirements stated: not inferred in a subprocess (~20 s a model when loaded)
            logged = mlflow.sklearn.log_model(
                fitted, name=f"m{index}", pip_requirements=["mlflow", "scikit-learn"]
            )
            model_ids.append(logged.model_id)
    registries = [Registry(uri) for uri in uris]
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def register(index: int) -> None:
        barrier.wait(timeout=60)
        try:
            outcomes[index] = versions.register(
                registries[index], f"models:/{model_ids[index]}", f"model-{index}"
            )
        except BaseException as exc:  # asserted on below
            outcomes[index] = exc

    threads = [threading.Thread(target=register, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for index, outcome in enumerate(outcomes):
        assert isinstance(outcome, versions.Registration), repr(outcome)
        assert outcome.version is not None and outcome.version.status == "READY"
        assert outcome.version.source == f"models:/{model_ids[index]}"
    for index, uri in enumerate(uris):
        state = registry_state(uri)
        assert list(state) == [f"model-{index}"], state  # nothing crossed
