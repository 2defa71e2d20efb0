"""The alias lock on a real sqlite registry: exclusive, released, stale leases broken."""

from __future__ import annotations

import pytest

from harness.store.registry import Registry
from registry_tools.errors import PromotionConflict
from registry_tools.lock import acquire, alias_lock, lock_name, release

pytestmark = [pytest.mark.functional, pytest.mark.xdist_group("registry-functional")]


def test_lock_is_exclusive_and_released(tracking_uri: str) -> None:
    registry = Registry(tracking_uri)
    with alias_lock(registry, "rf", "champion"):
        assert registry.try_get_model(lock_name("rf", "champion")) is not None
        with pytest.raises(PromotionConflict, match=r"is being changed by .*pid"):
            acquire(registry, "rf", "champion", wait_s=0.3)
        # Another alias of the same model is not blocked.
        release(registry, acquire(registry, "rf", "challenger", wait_s=0.3))
    assert registry.try_get_model(lock_name("rf", "champion")) is None
    release(registry, acquire(registry, "rf", "champion", wait_s=0.3))


def test_expired_lease_is_broken_and_an_old_holder_cannot_release_the_new_lock(
    tracking_uri: str,
) -> None:
    registry = Registry(tracking_uri)
    crashed = acquire(registry, "rf", "champion", lease_s=-1)  # already expired
    taken = acquire(registry, "rf", "champion", wait_s=0.3)
    assert taken.token != crashed.token
    release(registry, crashed)  # the crashed holder waking up must not free the new lock
    assert registry.try_get_model(lock_name("rf", "champion")) is not None
    release(registry, taken)
    assert registry.try_get_model(lock_name("rf", "champion")) is None
