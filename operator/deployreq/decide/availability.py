"""How long the workload ran degraded (fewer available replicas than desired) and down (none available) while a
request deployed, verified and rolled back: a pure update of ``status.availability`` from the Deployment's status.

Only a change of state is written (entering or leaving a degraded or down stretch), with the time it began, so a
restarted operator goes on from the status: a stretch open when it stopped is counted until it sees it end.
"""

from __future__ import annotations

from typing import Any

from deployreq.api import times
from deployreq.api.change import Fields, StatusChange
from deployreq.api.phases import ACTIVE
from deployreq.api.request import Request
from deployreq.api.status_model import AvailabilityStatus

Obj = dict[str, Any]


def replicas(dep: Obj) -> tuple[int, int]:
    """Desired and available replicas, as the Deployment's spec and status say."""
    spec, status = dep.get("spec") or {}, dep.get("status") or {}
    desired = spec.get("replicas")
    return (1 if desired is None else int(desired)), int(status.get("availableReplicas") or 0)


def _stretch(state: AvailabilityStatus, key: str, on: bool, now: float) -> AvailabilityStatus:
    since_key, seconds_key = f"{key}_since", f"{key}_seconds"
    since = times.parse_or_none(getattr(state, since_key))
    if on and since is None:
        return state.model_copy(update={since_key: times.rfc3339_ms(now)})
    if not on and since is not None:
        seconds = round(float(getattr(state, seconds_key) or 0.0) + max(0.0, now - since), 3)
        return state.model_copy(update={seconds_key: seconds, since_key: None})
    return state


def _start(previous: AvailabilityStatus | None) -> AvailabilityStatus:
    state = previous or AvailabilityStatus()
    return state.model_copy(
        update={"degraded_seconds": state.degraded_seconds or 0.0, "down_seconds": state.down_seconds or 0.0}
    )


def track(previous: AvailabilityStatus | None, dep: Obj | None, now: float) -> AvailabilityStatus | None:
    """The new ``status.availability`` after seeing ``dep`` at ``now``; None when nothing changed (no write)."""
    if dep is None:
        return None
    desired, available = replicas(dep)
    before = _start(previous)
    state = _stretch(before, "degraded", available < desired, now)
    state = _stretch(state, "down", desired > 0 and available == 0, now)
    return None if state == before else state


def close(previous: AvailabilityStatus | None, now: float) -> AvailabilityStatus:
    """The final ``status.availability`` when the run ends: open stretches end now."""
    return _stretch(_stretch(_start(previous), "degraded", False, now), "down", False, now)


def change(req: Request, dep: Obj | None, now: float) -> StatusChange | None:
    """The write that records a stretch starting or ending while this run has changed the workload; None when
    nothing changed (or the run has not patched yet, or is not active)."""
    if not req.status.patched_generation or req.phase not in ACTIVE:
        return None
    state = track(req.status.availability, dep, now)
    return None if state is None else StatusChange(Fields(availability=state))
