"""A pod's STATUS, READY and RESTARTS as kubectl's printer computes them (printPod), and its readiness gates."""

from __future__ import annotations

from typing import Any

from kubesim.api.durations import age

Obj = dict[str, Any]


def _terminated_reason(terminated: Obj, prefix: str = "") -> str:
    if terminated.get("reason"):
        return prefix + str(terminated["reason"])
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{terminated.get('exitCode', 0)}"


def _condition_true(status: Obj, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in status.get("conditions") or [])


def _init_containers(spec: Obj, status: Obj, reason: str) -> tuple[str, bool, list[int], list[str]]:
    """printPod's pass over the init containers: the reason an unfinished one gives, whether the pod is still
    initializing, and [restarts, sidecar restarts, ready sidecars], [last restart, last sidecar restart]."""
    sidecars = {c.get("name") for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"}
    counts, last = [0, 0, 0], ["", ""]
    init_total = len(spec.get("initContainers") or [])
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        counts[0] += int(cs.get("restartCount") or 0)
        finished = ((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt") or ""
        last[0] = max(last[0], finished)
        sidecar = cs.get("name") in sidecars
        if sidecar:
            counts[1] += int(cs.get("restartCount") or 0)
            last[1] = max(last[1], finished)
            if cs.get("started") and cs.get("ready"):
                counts[2] += 1
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting") or {}
        if terminated is not None and int(terminated.get("exitCode") or 0) == 0:
            continue
        if sidecar and cs.get("started"):
            continue
        if terminated is not None:
            reason = _terminated_reason(terminated, "Init:")
        elif waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{init_total}"
        return reason, True, counts, last
    return reason, False, counts, last


def _containers(status: Obj, reason: str, restarts: int, last_restart: str) -> tuple[str, int, int, str]:
    """printPod's pass over the containers (last first): the reason, ready count, restarts, last restart."""
    has_running = False
    ready = 0
    for cs in reversed(status.get("containerStatuses") or []):
        restarts += int(cs.get("restartCount") or 0)
        finished = ((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt") or ""
        last_restart = max(last_restart, finished)
        state = cs.get("state") or {}
        waiting, terminated = state.get("waiting") or {}, state.get("terminated")
        if waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated is not None:
            reason = _terminated_reason(terminated)
        elif cs.get("ready") and state.get("running") is not None:
            has_running = True
            ready += 1
    if reason == "Completed" and has_running:
        reason = "Running" if _condition_true(status, "Ready") else "NotReady"
    return reason, ready, restarts, last_restart


def pod_status(pod: Obj) -> tuple[str, int, str]:
    """STATUS, ready count and RESTARTS as printers.go's printPod works them out."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    if any(
        c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated"
        for c in status.get("conditions") or []
    ):
        reason = "SchedulingGated"
    reason, initializing, counts, last = _init_containers(spec, status, reason)
    restarts, ready, last_restart = counts[0], counts[2], last[0]
    if not initializing or _condition_true(status, "Initialized"):
        reason, running, restarts, last_restart = _containers(status, reason, counts[1], last[1])
        ready += running
    deleting = (pod.get("metadata") or {}).get("deletionTimestamp")
    if deleting and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    restart_text = f"{restarts} ({age(last_restart)} ago)" if restarts and last_restart else str(restarts)
    return reason, ready, restart_text


def readiness_gates(pod: Obj) -> str:
    gates = (pod.get("spec") or {}).get("readinessGates") or []
    if not gates:
        return "<none>"
    conditions = {c.get("type"): c.get("status") for c in (pod.get("status") or {}).get("conditions") or []}
    true = sum(1 for g in gates if conditions.get(g.get("conditionType")) == "True")
    return f"{true}/{len(gates)}"
