"""The request's status as a value: a change applied yields the new status, with its history and conditions, and
the merge patch that writes it.

Conditions follow metav1.Condition and the kstatus conventions (Flux, kpt): ``Reconciling`` True while work is in
progress (waiting or active), ``Ready`` True only on success, ``Stalled`` True when the run ended in an error that needs
a person (Failed, RolledBack: the images asked for are not running and will not be without a new spec or a re-run).
Cancelled and Superseded are not Stalled: nobody needs to act, the request was withdrawn or replaced on purpose.
Plus ``Complete`` (True once terminal) and ``Succeeded`` for ``kubectl wait``, and ``AwaitingApproval`` (True while a
DeployPolicy holds the request for an approval; present only on requests that have waited for one). Each carries the
generation it describes, and keeps its lastTransitionTime while its status does not change.
"""

from __future__ import annotations

from typing import Any

from deployreq.api.change import StatusChange
from deployreq.api.phases import ACTIVE, TERMINAL, WAITING, Phase
from deployreq.api.status_model import HISTORY_LIMIT, Condition, DeploymentRequestStatus, HistoryEntry
from deployreq.api.times import rfc3339

Obj = dict[str, Any]
Status = DeploymentRequestStatus


def condition_values(phase: Phase) -> dict[str, str]:
    terminal = phase in TERMINAL
    return {
        "Complete": "True" if terminal else "False",
        "Succeeded": ("True" if phase == Phase.SUCCEEDED else "False") if terminal else "Unknown",
        "Ready": "True" if phase == Phase.SUCCEEDED else "False",
        "Reconciling": "True" if (phase in ACTIVE or phase in WAITING) else "False",
        "Stalled": "True" if phase in (Phase.FAILED, Phase.ROLLED_BACK) else "False",
    }


def conditions(
    phase: Phase, message: str, generation: int, now: float, previous: list[Condition]
) -> list[Condition]:
    before = {c.type: c for c in previous}
    values = condition_values(phase)
    if phase == Phase.AWAITING_APPROVAL or "AwaitingApproval" in before:
        values["AwaitingApproval"] = "True" if phase == Phase.AWAITING_APPROVAL else "False"
    result = []
    for type_, value in values.items():
        old = before.get(type_)
        changed = old is None or old.status != value
        since = rfc3339(now) if old is None or changed else (old.last_transition_time or rfc3339(now))
        result.append(
            Condition(
                type=type_,
                status=value,
                reason=phase.value,
                message=message,
                observed_generation=generation,
                last_transition_time=since,
            )
        )
    return result


def transition(status: Status, phase: Phase, now: float, message: str, generation: int) -> Status:
    """A new status in ``phase``: message, bounded history and recomputed conditions."""
    history = list(status.history or [])
    if status.phase != phase or not history:
        history.append(HistoryEntry(phase=phase, time=rfc3339(now), message=message))
    return status.model_copy(
        update={
            "phase": phase,
            "message": message,
            "history": history[-HISTORY_LIMIT:],
            "conditions": conditions(phase, message, generation, now, list(status.conditions or [])),
        }
    )


def apply(status: Status, change: StatusChange, now: float, generation: int) -> Status:
    """The status after ``change``; ``generation`` is the request's, for conditions when nothing else says."""
    updated = status.model_copy(
        update={name: getattr(change.fields, name) for name in change.fields.model_fields_set}
    )
    if change.phase is not None:
        described = change.generation or updated.observed_generation or generation
        return transition(updated, change.phase, now, change.message or "", described)
    if change.message is not None:
        return updated.model_copy(update={"message": change.message})
    return updated


def _json(status: Status) -> Obj:
    return status.model_dump(by_alias=True, mode="json", exclude_none=True)


def _merged(old: Any, new: Any) -> Any:
    """A changed value as a merge patch writes it: an object's members no longer set are cleared (None)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return {**{key: None for key in old if key not in new}, **new}
    return new


def patch(before: Status, after: Status) -> Obj:
    """The merge patch from ``before`` to ``after``: the camelCase fields that differ (None clears one)."""
    old, new = _json(before), _json(after)
    changed = (key for key in old.keys() | new.keys() if old.get(key) != new.get(key))
    return {key: _merged(old.get(key), new.get(key)) for key in changed}
