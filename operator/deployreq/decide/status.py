"""The request's status as a value: a phase change yields a new status with its history and conditions.

Conditions follow metav1.Condition and the kstatus conventions (Flux, kpt): ``Reconciling`` True while work is in
progress (waiting or active), ``Ready`` True only on success, ``Stalled`` True when the run ended in an error that needs
a person (Failed, RolledBack: the images asked for are not running and will not be without a new spec or a re-run).
Cancelled and Superseded are not Stalled: nobody needs to act, the request was withdrawn or replaced on purpose.
Plus ``Complete`` (True once terminal) and ``Succeeded`` for ``kubectl wait``. Each carries the generation it
describes, and keeps its lastTransitionTime while its status does not change.
"""

from __future__ import annotations

from typing import Any

from deployreq.api import model
from deployreq.api.phases import ACTIVE, TERMINAL, WAITING, Phase
from deployreq.api.times import rfc3339

HISTORY_LIMIT = model.HISTORY_LIMIT
Obj = dict[str, Any]


def condition_values(phase: Phase) -> dict[str, str]:
    terminal = phase in TERMINAL
    return {
        "Complete": "True" if terminal else "False",
        "Succeeded": ("True" if phase == Phase.SUCCEEDED else "False") if terminal else "Unknown",
        "Ready": "True" if phase == Phase.SUCCEEDED else "False",
        "Reconciling": "True" if (phase in ACTIVE or phase in WAITING) else "False",
        "Stalled": "True" if phase in (Phase.FAILED, Phase.ROLLED_BACK) else "False",
    }


def conditions(phase: Phase, message: str, generation: int, now: float, previous: list[Obj]) -> list[Obj]:
    before = {c.get("type"): c for c in previous}
    result = []
    for type_, value in condition_values(phase).items():
        old = before.get(type_)
        changed = old is None or old.get("status") != value
        result.append(
            {
                "type": type_,
                "status": value,
                "reason": phase.value,
                "message": message,
                "observedGeneration": generation,
                "lastTransitionTime": rfc3339(now)
                if changed
                else old.get("lastTransitionTime", rfc3339(now)),  # type: ignore[union-attr]
            }
        )
    return result


def transition(status: Obj, phase: str, now: float, message: str, generation: int) -> Obj:
    """A new status in ``phase``: message, bounded history and recomputed conditions."""
    new_phase = Phase(phase)
    history = list(status.get("history") or [])
    if status.get("phase") != new_phase.value or not history:
        history.append({"phase": new_phase.value, "time": rfc3339(now), "message": message})
    return {
        **status,
        "phase": new_phase.value,
        "message": message,
        "history": history[-HISTORY_LIMIT:],
        "conditions": conditions(new_phase, message, generation, now, list(status.get("conditions") or [])),
    }
