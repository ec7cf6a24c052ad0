"""The Deployment's status as the controller computes it (sync.go calculateStatus, SetDeploymentCondition and the
condition order of syncDeployment); the Progressing deadline stays with the controller, which owns the timers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubesim.controllers import deployment_math as dm

Obj = dict[str, Any]


def epoch(stamp: str | None) -> float:
    if not stamp:
        return 0.0
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _total(field: str, items: list[Obj]) -> int:
    return sum(int((r.get("status") or {}).get(field, 0)) for r in items)


def replica_counts(current: Obj, rses: list[Obj], fresh_new: Obj | None, old_status: Obj) -> Obj:
    """The status numbers (zero counts omitted, as omitempty does) and the carried-over collisionCount."""
    available = _total("availableReplicas", rses)
    status: Obj = {
        "observedGeneration": current["metadata"].get("generation", 1),
        "replicas": _total("replicas", rses),
        "updatedReplicas": _total("replicas", [fresh_new]) if fresh_new else 0,
        "readyReplicas": _total("readyReplicas", rses),
        "availableReplicas": available,
        "unavailableReplicas": max(0, sum(dm.spec_replicas(r) for r in rses) - available),
    }
    for key in ("readyReplicas", "availableReplicas", "updatedReplicas", "replicas", "unavailableReplicas"):
        if not status[key]:
            status.pop(key)
    if old_status.get("collisionCount"):
        status["collisionCount"] = old_status["collisionCount"]
    return status


class Conditions:
    """The Deployment's conditions by type, in the order they were last set."""

    def __init__(self, old_status: Obj, stamp: str) -> None:
        self.by_type: dict[str, Obj] = {c["type"]: c for c in old_status.get("conditions") or []}
        self.stamp = stamp

    def set(self, type_: str, value: str, reason: str, message: str, refresh: bool = False) -> None:
        """SetDeploymentCondition: same status and reason keep the old condition (unless ``refresh``);
        lastTransitionTime survives while the status stays the same; a set condition moves to the end."""
        old = self.by_type.get(type_)
        if old is not None and old.get("status") == value and old.get("reason") == reason and not refresh:
            return
        stamp = self.stamp
        transition = old.get("lastTransitionTime", stamp) if old and old.get("status") == value else stamp
        self.by_type.pop(type_, None)
        self.by_type[type_] = {
            "type": type_,
            "status": value,
            "lastUpdateTime": stamp,
            "lastTransitionTime": transition,
            "reason": reason,
            "message": message,
        }


def sync_conditions(
    current: Obj, conditions: Conditions, fresh_new: Obj | None, created: bool, available: int
) -> None:
    """The order of syncDeployment: paused conditions, then the new ReplicaSet's, then calculateStatus
    (Available); syncRolloutStatus (Progressing) follows in the controller."""
    set_condition = conditions.set
    progressing = conditions.by_type.get("Progressing")
    paused_cond = progressing is not None and progressing.get("reason") == "DeploymentPaused"
    paused = bool(current["spec"].get("paused"))
    if paused and not paused_cond:
        set_condition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused")
    elif not paused and paused_cond:
        set_condition("Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed")
    if not paused and fresh_new is not None and current["spec"].get("progressDeadlineSeconds") is not None:
        rs_name = fresh_new["metadata"]["name"]
        if created:
            set_condition(
                "Progressing", "True", "NewReplicaSetCreated", f'Created new replica set "{rs_name}"'
            )
        elif "Progressing" not in conditions.by_type:
            set_condition("Progressing", "True", "FoundNewReplicaSet", f'Found new replica set "{rs_name}"')
    replicas = int(current["spec"].get("replicas", 1))
    if available >= replicas - dm.max_unavailable(current):
        set_condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    else:
        set_condition(
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        )
