"""The DaemonSet controller's decisions, pure (``pkg/controller/daemonset``: ``nodeShouldRunDaemonPod``,
``manage``, ``rollingUpdate`` in update.go, ``updateDaemonSetStatus``)."""

from __future__ import annotations

import math
from typing import Any

from kubesim.controllers.pods import is_available, is_running_and_ready, is_terminal
from kubesim.controllers.scheduler import fits
from kubesim.storage.objects import clone

Obj = dict[str, Any]
HASH_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"
TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"
TOLERATIONS = (
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
)
"""What ``AddOrUpdateDaemonPodTolerations`` adds to every daemon pod."""


def daemon_pod_spec(template_spec: Obj, node: str) -> Obj:
    """The pod spec for ``node``: required node affinity on its name (replacing other required terms' name
    fields) and the daemon tolerations."""
    spec: Obj = clone(template_spec)
    affinity = spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
    affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [term]}
    tolerations = spec.setdefault("tolerations", [])
    for key, effect in TOLERATIONS:
        if not any(t.get("key") == key and t.get("effect") == effect for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": effect})
    return spec


def should_run(ds: Obj, node: Obj) -> bool:
    """nodeShouldRunDaemonPod: the template's pod, pinned to the node, passes the scheduler's filters."""
    spec = daemon_pod_spec((ds["spec"].get("template") or {}).get("spec") or {}, node["metadata"]["name"])
    return fits({"spec": spec}, node)


def pod_node(pod: Obj) -> str:
    """The Node a daemon pod is for: its nodeName, else the name its affinity pins."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    for term in required.get("nodeSelectorTerms") or []:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("values"):
                return str(field["values"][0])
    return ""


def _scaled(value: Any, total: int) -> int:
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(float(value[:-1]) * total / 100)
    return int(value or 0)


def max_unavailable(ds: Obj, desired: int) -> int:
    rolling = (ds["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {}
    surge = _scaled(rolling.get("maxSurge", 0), desired)
    unavailable = _scaled(rolling.get("maxUnavailable", 1), desired)
    return 1 if unavailable == 0 and surge == 0 else unavailable


def max_surge(ds: Obj, desired: int) -> int:
    return _scaled(
        ((ds["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {}).get("maxSurge", 0), desired
    )


def plan(ds: Obj, nodes: list[Obj], pods: list[Obj], digest: str, now: float) -> tuple[list[str], list[str]]:
    """(Nodes to create a pod on, pods to delete): ``manage`` (a pod per Node that should run one, none
    elsewhere, failed pods replaced) then, for a RollingUpdate, ``rollingUpdate``: old pods deleted while at most
    maxUnavailable are unavailable (an unavailable old pod always), or with maxSurge a new pod started beside an
    old one, which goes once the new one is available."""
    min_ready = int(ds["spec"].get("minReadySeconds") or 0)
    wanted = {n["metadata"]["name"] for n in nodes if should_run(ds, n)}
    on_node: dict[str, list[Obj]] = {name: [] for name in wanted}
    create: list[str] = []
    delete: list[str] = []
    for pod in sorted(pods, key=lambda p: p["metadata"]["creationTimestamp"]):
        node = pod_node(pod)
        if node not in wanted or (pod.get("status") or {}).get("phase") == "Failed":
            delete.append(pod["metadata"]["name"])
        elif not is_terminal(pod):
            on_node[node].append(pod)
    for node, node_pods in sorted(on_node.items()):
        if not node_pods:
            create.append(node)
        elif len(node_pods) > 1 and all(_hash(p) == _hash(node_pods[0]) for p in node_pods):
            delete.extend(p["metadata"]["name"] for p in node_pods[1:])
    if (ds["spec"].get("updateStrategy") or {}).get("type", "RollingUpdate") != "RollingUpdate":
        return create, delete
    desired = len(wanted)
    surge = max_surge(ds, desired)
    budget = max_unavailable(ds, desired)
    unavailable = 0
    candidates: list[tuple[str, Obj]] = []
    replace: list[tuple[str, Obj]] = []
    for node, node_pods in sorted(on_node.items()):
        new = [p for p in node_pods if _hash(p) == digest]
        old = [p for p in node_pods if _hash(p) != digest]
        if not node_pods or (new and not is_available(new[0], min_ready, now)):
            unavailable += 1
        if old and new and is_available(new[0], min_ready, now):
            delete.extend(p["metadata"]["name"] for p in old)  # surged: the new pod took over
        elif old and not new:
            available = is_running_and_ready(old[0]) and is_available(old[0], min_ready, now)
            (candidates if available else replace).append((node, old[0]))
    room = max(0, (surge if surge else budget) - unavailable)
    chosen = replace + candidates[:room]
    if surge:
        create.extend(node for node, _ in chosen)
    else:
        delete.extend(pod["metadata"]["name"] for _, pod in chosen)
    return create, delete


def _hash(pod: Obj) -> str:
    return str((pod["metadata"].get("labels") or {}).get(HASH_LABEL, ""))


def status(ds: Obj, nodes: list[Obj], pods: list[Obj], digest: str, now: float) -> Obj:
    """updateDaemonSetStatus's counts (numberUnavailable omitted when 0)."""
    min_ready = int(ds["spec"].get("minReadySeconds") or 0)
    wanted = {n["metadata"]["name"] for n in nodes if should_run(ds, n)}
    live = [p for p in pods if not is_terminal(p)]
    scheduled = {pod_node(p) for p in live}
    running = {}
    for pod in live:
        node = pod_node(pod)
        if node in wanted and (node not in running or _hash(pod) == digest):
            running[node] = pod
    ready = [p for p in running.values() if is_running_and_ready(p)]
    available = sum(1 for p in ready if is_available(p, min_ready, now))
    result: Obj = {
        "currentNumberScheduled": len(scheduled & wanted),
        "numberMisscheduled": len(scheduled - wanted),
        "desiredNumberScheduled": len(wanted),
        "numberReady": len(ready),
        "observedGeneration": ds["metadata"].get("generation", 1),
        "updatedNumberScheduled": sum(1 for p in running.values() if _hash(p) == digest),
        "numberAvailable": available,
        "numberUnavailable": len(wanted) - available,
    }
    for key in ("updatedNumberScheduled", "numberAvailable", "numberUnavailable"):
        if not result[key]:
            result.pop(key)
    if (ds.get("status") or {}).get("collisionCount"):
        result["collisionCount"] = ds["status"]["collisionCount"]
    return result
