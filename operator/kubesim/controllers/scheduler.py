"""Where a pod runs: the scheduler's filters kubesim models and a spreading score (``pkg/scheduler``: NodeName,
NodeUnschedulable, TaintToleration, NodeAffinity with the pod's nodeSelector; the least loaded Node wins, as the
default PodTopologySpread and LeastAllocated scores make pods of one workload spread over equal Nodes)."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def _ready(node: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (node.get("status") or {}).get("conditions") or []
    )


def _requirement(req: Obj, value: str | None) -> bool:
    op, values = req.get("operator"), [str(v) for v in req.get("values") or []]
    if op == "In":
        return value in values
    if op == "NotIn":
        return value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and values:
        try:
            left, right = int(value), int(values[0])
        except ValueError:
            return False
        return left > right if op == "Gt" else left < right
    return False


def _term(term: Obj, node: Obj) -> bool:
    labels = node["metadata"].get("labels") or {}
    fields = {"metadata.name": node["metadata"]["name"]}
    return all(_requirement(r, labels.get(r.get("key"))) for r in term.get("matchExpressions") or []) and all(
        _requirement(r, fields.get(r.get("key"))) for r in term.get("matchFields") or []
    )


def _tolerated(taint: Obj, tolerations: list[Obj]) -> bool:
    for t in tolerations:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        if t.get("operator") == "Exists" and (not t.get("key") or t.get("key") == taint.get("key")):
            return True
        if t.get("key") == taint.get("key") and t.get("value", "") == taint.get("value", ""):
            return True
    return False


def fits(pod: Obj, node: Obj) -> bool:
    """Whether ``pod`` may run on ``node``: Ready and schedulable, its nodeSelector and required node affinity
    matched, its NoSchedule/NoExecute taints tolerated."""
    spec = pod.get("spec") or {}
    if not _ready(node) or (node.get("spec") or {}).get("unschedulable"):
        return False
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = (
        ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        )
        or {}
    ).get("nodeSelectorTerms")
    if required and not any(_term(term, node) for term in required):
        return False
    tolerations = spec.get("tolerations") or []
    return all(
        _tolerated(taint, tolerations)
        for taint in (node.get("spec") or {}).get("taints") or []
        if taint.get("effect") in ("NoSchedule", "NoExecute")
    )


def choose_node(pod: Obj, nodes: list[Obj], load: dict[str, int]) -> str | None:
    """The Node the scheduler binds ``pod`` to: among those it fits, the one running fewest pods (by name on a
    tie); None when none fits."""
    candidates = [str(n["metadata"]["name"]) for n in nodes if fits(pod, n)]
    if not candidates:
        return None
    return min(candidates, key=lambda name: (load.get(name, 0), name))


def unschedulable_message(total: int) -> str:
    """The PodScheduled condition's message when no Node fits (the selector or affinity case)."""
    return (
        f"0/{total} nodes are available: {total} node(s) didn't match Pod's node affinity/selector. "
        f"preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling."
    )
