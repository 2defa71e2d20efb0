"""Concurrent promotions of one alias against an ``mlflow server`` on a real PostgreSQL.

``set_registered_model_alias`` is last-writer-wins and a concurrent first-time set can
fail with a UniqueViolation; ``registry_tools`` adds a lock (a registered model created
atomically) and a compare-and-set of the holders the decision was based on. These tests
start promotions from threads at the same instant and check that exactly one wins, the
losers get ``PromotionConflict`` (exit 1) and change nothing, and the audit trail is a
consistent chain.

Every thread calls the one promotion operation (``promote.promote``) on its own
``Registry``. So that "exactly one wins" is a property of the lock and the compare-and-set
and not of timing, each thread's registry waits at its first attempt to take the lock
until every thread has got there: every decision is made against the same holders before
any promotion can change them.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Iterator

import pytest

from harness.store.registry import Registry
from registry_tools import aliases, versions
from registry_tools.audit import AuditRecord, replay, trail
from registry_tools.errors import PromotionConflict
from registry_tools.lock import LOCK_INFIX, lock_name
from registry_tools.promote import Promotion, PromotionRequest, promote
from tests.support.servers import MlflowServer

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("registry-integration")]


@pytest.fixture(scope="module")
def model_ids(mlflow_server: MlflowServer) -> Iterator[list[str]]:
    """Four tiny logged models (distinct accuracies) on the server; their ``m-`` ids."""
    import mlflow
    import numpy as np
    from sklearn.dummy import DummyClassifier

    mlflow.set_tracking_uri(mlflow_server.url)
    # Not mlflow.set_experiment: it exports MLFLOW_EXPERIMENT_ID into this xdist worker.
    experiment_id = mlflow.MlflowClient(mlflow_server.url).create_experiment(
        f"registry-race-{uuid.uuid4().hex[:8]}"
    )
    x, y = np.zeros((8, 2)), np.array([0, 1] * 4)
    ids = []
    try:
        for index in range(4):
            with mlflow.start_run(experiment_id=experiment_id):
                mlflow.log_metric("accuracy", 0.5 + index / 10)
                # Requirements stated: MLflow would otherwise infer them in a subprocess that
                # loads the model, ~20 s a model on a loaded machine (most of this setup).
                info = mlflow.sklearn.log_model(
                    DummyClassifier().fit(x, y),
                    name="model",
                    pip_requirements=["mlflow", "scikit-learn"],
                )
                ids.append(info.model_id)
        yield ids
    finally:
        mlflow.set_tracking_uri(None)


def _registered(server: MlflowServer, model_ids: list[str]) -> tuple[Registry, str]:
    registry = Registry(server.url)
    name = f"race-{uuid.uuid4().hex[:8]}"
    for model_id in model_ids:
        versions.register(registry, f"models:/{model_id}", name)
    return registry, name


class _MeetAtTheLock(Registry):
    """A real registry whose first lock attempt waits until every racer has decided."""

    def __init__(self, url: str, decided: threading.Barrier) -> None:
        super().__init__(url)
        self._decided: threading.Barrier | None = decided

    def create_model(
        self, name: str, tags: dict[str, str] | None = None, description: str | None = None
    ) -> bool:
        if LOCK_INFIX in name and self._decided is not None:
            self._decided.wait(timeout=60)
            self._decided = None
        return super().create_model(name, tags, description)


def _racers(url: str, requests: list[PromotionRequest]) -> list[Callable[[], Promotion]]:
    """One call per request, each on its own registry, all meeting at the lock."""
    decided = threading.Barrier(len(requests))

    def racer(request: PromotionRequest) -> Callable[[], Promotion]:
        return lambda: promote(_MeetAtTheLock(url, decided), request)

    return [racer(request) for request in requests]


def _race(calls: list[Callable[[], Promotion]]) -> list[Promotion | BaseException]:
    """Run the calls in threads released at the same instant; results in call order."""
    barrier = threading.Barrier(len(calls))
    results: list[Promotion | BaseException | None] = [None] * len(calls)

    def worker(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except BaseException as exc:  # collected and asserted on by the test
            results[index] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(not t.is_alive() for t in threads)
    return [r for r in results if r is not None]


def _assert_consistent_chain(registry: Registry, name: str) -> list[AuditRecord]:
    """Each record starts where the previous one ended; the alias is where the trail ends."""
    model = registry.get_model(name)
    records = trail("champion", model.tags)
    for before, after in itertools.pairwise(records):
        assert after.previous == before.version, (before, after)
        assert after.seq == before.seq + 1
    assert replay(records).holder == registry.holder(name, "champion")
    assert model.tags.get("mlharness.seq.champion") == str(records[-1].seq)
    assert registry.try_get_model(lock_name(name, "champion")) is None  # lock released
    return records


def test_two_promotions_expecting_the_same_holder_have_one_winner(
    mlflow_server: MlflowServer, model_ids: list[str]
) -> None:
    registry, name = _registered(mlflow_server, model_ids[:3])
    aliases.set_alias(registry, name, "champion", "1")

    requests = [
        PromotionRequest(
            name,
            "champion",
            ["accuracy>=champion.accuracy"],
            version=version,
            expect_version="1",
        )
        for version in ("2", "3")
    ]
    outcomes = _race(_racers(mlflow_server.url, requests))
    winners = [o for o in outcomes if isinstance(o, Promotion)]
    losers = [o for o in outcomes if not isinstance(o, Promotion)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert isinstance(losers[0], PromotionConflict), repr(losers[0])
    assert int(losers[0].exit_code) == 1 and "nothing changed" in losers[0].one_line()
    assert "moved from version 1 to version" in losers[0].one_line()  # the compare-and-set

    winner = winners[0].plan.candidate
    loser = "3" if winner == "2" else "2"
    assert registry.holder(name, "champion") == winner
    records = _assert_consistent_chain(registry, name)
    assert [(r.action, r.previous, r.version) for r in records] == [
        ("set", None, "1"),
        ("promote", "1", winner),
    ]
    assert versions.get(registry, name, winner).tags["mlharness.champion.previous"] == "1"
    assert not any(
        k.startswith("mlharness.champion.") for k in versions.get(registry, name, loser).tags
    )


def test_first_time_promotions_from_four_threads_never_lose_an_update(
    mlflow_server: MlflowServer, model_ids: list[str]
) -> None:
    """Nobody holds the alias yet: the first-time set that can hit a UniqueViolation."""
    registry, name = _registered(mlflow_server, model_ids)

    requests = [
        PromotionRequest(name, "champion", ["accuracy>=0.5"], version=version)
        for version in ("1", "2", "3", "4")
    ]
    outcomes = _race(_racers(mlflow_server.url, requests))
    winners = [o for o in outcomes if isinstance(o, Promotion)]
    losers = [o for o in outcomes if not isinstance(o, Promotion)]
    assert len(outcomes) == 4 and len(winners) == 1, outcomes
    assert len(losers) == 3 and all(isinstance(o, PromotionConflict) for o in losers), [
        repr(o) for o in losers
    ]
    assert all("moved from no holder to version" in o.one_line() for o in losers), losers
    winner = winners[0]
    assert winner.applied and winner.record is not None and winner.plan.current is None
    assert registry.holder(name, "champion") == winner.plan.candidate
    records = _assert_consistent_chain(registry, name)
    # One record, based on the holder every racer saw: no lost update.
    assert [(r.action, r.previous, r.version) for r in records] == [
        ("promote", None, winner.plan.candidate)
    ]
