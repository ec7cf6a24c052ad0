"""Degraded and down time from the Deployment's status: stretches opened and closed, written only on a change."""

from __future__ import annotations

from typing import Any

from deployreq.api.status_model import AvailabilityStatus
from deployreq.decide.availability import close, track

T0 = 1_800_000_000.0


def dep(available: int, desired: int = 2) -> dict[str, Any]:
    return {"spec": {"replicas": desired}, "status": {"availableReplicas": available}}


def test_a_rollout_that_keeps_every_replica_available_writes_nothing() -> None:
    assert track(None, dep(2), T0) is None
    assert close(None, T0 + 5) == AvailabilityStatus(degraded_seconds=0.0, down_seconds=0.0)


def test_degraded_then_down_then_back_adds_up_both() -> None:
    state = track(None, dep(1), T0)
    assert state is not None and state.degraded_since and state.down_since is None
    assert track(state, dep(1), T0 + 1) is None  # still degraded: no write
    state = track(state, dep(0), T0 + 2)
    assert state is not None and state.down_since
    state = track(state, dep(1), T0 + 5)
    assert state is not None and state.down_seconds == 3.0 and state.down_since is None
    state = track(state, dep(2), T0 + 6)
    assert state is not None
    assert (state.degraded_seconds, state.down_seconds, state.degraded_since) == (6.0, 3.0, None)


def test_an_open_stretch_is_closed_when_the_run_ends() -> None:
    state = track(None, dep(0), T0)
    final = close(state, T0 + 4.5)
    assert (final.degraded_seconds, final.down_seconds) == (4.5, 4.5)
    assert final.degraded_since is None and final.down_since is None


def test_scaled_to_zero_is_not_down_and_a_missing_deployment_changes_nothing() -> None:
    assert track(None, dep(0, desired=0), T0) is None
    assert track(None, None, T0) is None
