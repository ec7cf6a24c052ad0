"""The StatefulSet controller's decisions, pure (``pkg/controller/statefulset/stateful_set_control.go``
``updateStatefulSet`` and ``completeRollingUpdate``): which pods to create or delete next, and the status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubesim.controllers.pods import is_available, is_running_and_ready

Obj = dict[str, Any]
REVISION_LABEL = "controller-revision-hash"


@dataclass(frozen=True)
class Action:
    verb: str  # "create" | "delete"
    ordinal: int
    revision: str = ""  # for create: the revision the new pod gets
    pod: str = ""  # for delete: the pod's name


def ordinal(set_name: str, pod_name: str) -> int | None:
    """``<set>-<N>`` -> N; None for a name that is not one of the set's."""
    prefix, _, number = pod_name.rpartition("-")
    if prefix != set_name or not number.isdigit():
        return None
    return int(number)


def revision_of(pod: Obj) -> str:
    return str((pod["metadata"].get("labels") or {}).get(REVISION_LABEL, ""))


def _partition(sts: Obj) -> int:
    strategy = sts["spec"].get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0
    return int((strategy.get("rollingUpdate") or {}).get("partition") or 0)


def revision_for_new_pod(sts: Obj, index: int, current: str, update: str) -> str:
    """newVersionedStatefulSetPod: below the partition (or, on OnDelete, below currentReplicas) a recreated pod
    keeps the current revision; the others get the update revision."""
    strategy = sts["spec"].get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        return current if index < _partition(sts) else update
    return current if index < int((sts.get("status") or {}).get("currentReplicas") or 0) else update


def next_actions(sts: Obj, pods: dict[int, Obj], current: str, update: str) -> list[Action]:
    """What the controller does now. Failed pods are replaced; missing ordinals are created lowest first and,
    under OrderedReady, one at a time once the ones below are Running and Ready; surplus ordinals go highest
    first; then a RollingUpdate deletes the highest pod not at the update revision (down to the partition) once
    every pod is Running and Ready, and it is recreated at the update revision."""
    replicas = int(sts["spec"].get("replicas", 1))
    ordered = sts["spec"].get("podManagementPolicy", "OrderedReady") != "Parallel"
    actions: list[Action] = []
    for index in range(replicas):
        pod = pods.get(index)
        if pod is not None and (pod.get("status") or {}).get("phase") == "Failed":
            actions.append(Action("delete", index, pod=pod["metadata"]["name"]))
            pod = None
        if pod is None:
            actions.append(
                Action("create", index, revision=revision_for_new_pod(sts, index, current, update))
            )
            if ordered:
                return actions
        elif ordered and not is_running_and_ready(pod):
            return actions
    condemned = sorted((i for i in pods if i >= replicas), reverse=True)
    for index in condemned:
        actions.append(Action("delete", index, pod=pods[index]["metadata"]["name"]))
        if ordered:
            return actions
    if actions or (sts["spec"].get("updateStrategy") or {}).get("type", "RollingUpdate") != "RollingUpdate":
        return actions
    for index in range(replicas - 1, _partition(sts) - 1, -1):
        pod = pods.get(index)
        if pod is None:
            continue
        if revision_of(pod) != update:
            return [Action("delete", index, pod=pod["metadata"]["name"])]
        if not is_running_and_ready(pod):
            return []
    return []


def status(sts: Obj, pods: list[Obj], current: str, update: str, collisions: int, now: float) -> Obj:
    """The status from the pods; a RollingUpdate whose pods are all updated and ready completes (the current
    revision becomes the update revision). Zero counts are omitted except replicas and availableReplicas."""
    min_ready = int(sts["spec"].get("minReadySeconds") or 0)
    counts = {
        "replicas": len(pods),
        "readyReplicas": sum(1 for p in pods if is_running_and_ready(p)),
        "currentReplicas": sum(1 for p in pods if revision_of(p) == current),
        "updatedReplicas": sum(1 for p in pods if revision_of(p) == update),
        "availableReplicas": sum(
            1 for p in pods if is_running_and_ready(p) and is_available(p, min_ready, now)
        ),
    }
    rolling = (sts["spec"].get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
    if rolling and counts["updatedReplicas"] == counts["replicas"] == counts["readyReplicas"]:
        counts["currentReplicas"], current = counts["updatedReplicas"], update
    result: Obj = {"observedGeneration": sts["metadata"].get("generation", 1), "replicas": counts["replicas"]}
    for key in ("readyReplicas", "currentReplicas", "updatedReplicas"):
        if counts[key]:
            result[key] = counts[key]
    result |= {"currentRevision": current, "updateRevision": update, "collisionCount": collisions}
    result["availableReplicas"] = counts["availableReplicas"]
    return result
