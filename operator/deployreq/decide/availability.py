"""How long the workload ran degraded (fewer available replicas than desired) and down (none available) while a
request deployed, verified and rolled back: a pure update of ``status.availability`` from the Deployment's status.

Only a change of state is written (entering or leaving a degraded or down stretch), with the time it began, so a
restarted operator goes on from the status: a stretch open when it stopped is counted until it sees it end.
"""

from __future__ import annotations

from typing import Any

from deployreq.api import times

Obj = dict[str, Any]


def replicas(dep: Obj) -> tuple[int, int]:
    """Desired and available replicas, as the Deployment's spec and status say."""
    spec, status = dep.get("spec") or {}, dep.get("status") or {}
    desired = spec.get("replicas")
    return (1 if desired is None else int(desired)), int(status.get("availableReplicas") or 0)


def _stretch(state: Obj, key: str, on: bool, now: float) -> None:
    since_key, seconds_key = f"{key}Since", f"{key}Seconds"
    since = times.parse_or_none(state.get(since_key))
    if on and since is None:
        state[since_key] = times.rfc3339_ms(now)
    elif not on and since is not None:
        state[seconds_key] = round(float(state.get(seconds_key) or 0.0) + max(0.0, now - since), 3)
        state[since_key] = None


def track(previous: Obj | None, dep: Obj | None, now: float) -> Obj | None:
    """The new ``status.availability`` after seeing ``dep`` at ``now``; None when nothing changed (no write)."""
    if dep is None:
        return None
    desired, available = replicas(dep)
    state = {"degradedSeconds": 0.0, "downSeconds": 0.0, **(previous or {})}
    _stretch(state, "degraded", available < desired, now)
    _stretch(state, "down", desired > 0 and available == 0, now)
    return None if state == {"degradedSeconds": 0.0, "downSeconds": 0.0, **(previous or {})} else state


def close(previous: Obj | None, now: float) -> Obj:
    """The final ``status.availability`` when the run ends: open stretches end now."""
    state: Obj = {"degradedSeconds": 0.0, "downSeconds": 0.0, **(previous or {})}
    _stretch(state, "degraded", False, now)
    _stretch(state, "down", False, now)
    return state
