"""The ``pods`` gate: the Deployment's new pods are all Ready and none restarted more than ``maxRestarts``.

Restarts count from when the gate started: a pod seen at the first check is measured against its count then;
a pod that appears later against zero (all its restarts happened during the window). Terminating pods are
ignored. No new pod yet is inconclusive.
"""

from __future__ import annotations

from typing import Any

from deployreq.gates.base import GateEnv, Observation


def is_ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def restart_count(pod: dict[str, Any]) -> int:
    status = pod.get("status") or {}
    statuses = (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])
    return sum(int(s.get("restartCount") or 0) for s in statuses)


def pod_key(pod: dict[str, Any]) -> str:
    meta = pod.get("metadata") or {}
    return str(meta.get("uid") or meta.get("name") or "")


class PodsCheck:
    """One ``pods`` gate; keeps the restart baseline of the pods it saw at its first check."""

    kind = "pods"

    def __init__(self, max_restarts: int) -> None:
        self.max_restarts = max_restarts
        self.baseline: dict[str, int] | None = None

    @classmethod
    def from_spec(cls, gate: Any) -> PodsCheck:
        return cls(int(gate.pods.max_restarts))

    async def observe(self, env: GateEnv) -> Observation:
        pods = [p for p in await env.new_pods() if not (p.get("metadata") or {}).get("deletionTimestamp")]
        return self.judge(pods)

    def judge(self, pods: list[dict[str, Any]]) -> Observation:
        """Judge the live new pods (the first call sets the restart baseline)."""
        if self.baseline is None:
            self.baseline = {pod_key(p): restart_count(p) for p in pods}
        if not pods:
            return Observation(None, "no pods", "the Deployment has no new pods yet")
        ready = [p for p in pods if is_ready(p)]
        restarts = {pod_key(p): max(0, restart_count(p) - self.baseline.get(pod_key(p), 0)) for p in pods}
        worst_key = max(restarts, key=lambda k: restarts[k])
        value = f"{len(ready)}/{len(pods)} ready, {sum(restarts.values())} restarts"
        names = {pod_key(p): (p.get("metadata") or {}).get("name", "?") for p in pods}
        if restarts[worst_key] > self.max_restarts:
            return Observation(
                False,
                value,
                f"pod {names[worst_key]} restarted {restarts[worst_key]} times "
                f"(at most {self.max_restarts} allowed)",
            )
        if len(ready) < len(pods):
            waiting = sorted(names[pod_key(p)] for p in pods if not is_ready(p))
            return Observation(
                False,
                value,
                f"not Ready: {', '.join(waiting[:5])}"
                + (f" and {len(waiting) - 5} more" if len(waiting) > 5 else ""),
            )
        return Observation(True, value)
