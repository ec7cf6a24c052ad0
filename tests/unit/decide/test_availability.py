"""Degraded and down time from the Deployment's status: stretches opened and closed, written only on a change."""

from __future__ import annotations

from typing import Any

from deployreq.decide.availability import close, track

T0 = 1_800_000_000.0


def dep(available: int, desired: int = 2) -> dict[str, Any]:
    return {"spec": {"replicas": desired}, "status": {"availableReplicas": available}}


def test_a_rollout_that_keeps_every_replica_available_writes_nothing() -> None:
    assert track(None, dep(2), T0) is None
    assert close(None, T0 + 5) == {"degradedSeconds": 0.0, "downSeconds": 0.0}


def test_degraded_then_down_then_back_adds_up_both() -> None:
    state = track(None, dep(1), T0)
    assert state is not None and state["degradedSince"] and "downSince" not in state
    assert track(state, dep(1), T0 + 1) is None  # still degraded: no write
    state = track(state, dep(0), T0 + 2)
    assert state is not None and state["downSince"]
    state = track(state, dep(1), T0 + 5)
    assert state is not None and state["downSeconds"] == 3.0 and state["downSince"] is None
    state = track(state, dep(2), T0 + 6)
    assert state is not None
    assert (state["degradedSeconds"], state["downSeconds"], state["degradedSince"]) == (6.0, 3.0, None)


def test_an_open_stretch_is_closed_when_the_run_ends() -> None:
    state = track(None, dep(0), T0)
    final = close(state, T0 + 4.5)
    assert (final["degradedSeconds"], final["downSeconds"]) == (4.5, 4.5)
    assert final["degradedSince"] is None and final["downSince"] is None


def test_scaled_to_zero_is_not_down_and_a_missing_deployment_changes_nothing() -> None:
    assert track(None, dep(0, desired=0), T0) is None
    assert track(None, None, T0) is None
