"""Pure calculations of the Deployment controller (pkg/controller/deployment/util/deployment_util.go)."""

from __future__ import annotations

import json
import math
from typing import Any

Obj = dict[str, Any]
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
SKIPPED_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION,
        REVISION_HISTORY,
        DESIRED,
        MAX_REPLICAS,
        "deprecated.deployment.rollback.to",
    }
)
_SAFE = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template: Obj, collision_count: int = 0) -> str:
    """The pod-template-hash: a 32-bit FNV-1a hash of the template (plus the collision count), written in decimal
    and each digit spelled through the safe alphabet, as ``rand.SafeEncodeString`` does; so it looks like the real
    ones (e.g. ``5d59d67564``), though the bytes hashed differ from Go's object dump."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += collision_count.to_bytes(4, "little")
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(_SAFE[ord(ch) % len(_SAFE)] for ch in str(value))


def without_hash(template: Obj) -> Obj:
    meta = dict(template.get("metadata") or {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != HASH_LABEL}
    if labels:
        meta["labels"] = labels
    else:
        meta.pop("labels", None)
    return {**template, "metadata": meta}


def resolve(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        scaled = float(value[:-1]) * total / 100
        return math.ceil(scaled) if round_up else math.floor(scaled)
    return int(value or 0)


def surge_and_unavailable(deployment: Obj) -> tuple[int, int]:
    """maxSurge rounds up, maxUnavailable down; both zero means one unavailable allowed."""
    spec = deployment.get("spec") or {}
    replicas = int(spec.get("replicas", 1))
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0, replicas
    rolling = strategy.get("rollingUpdate") or {}
    surge = resolve(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = resolve(rolling.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


def revision(obj: Obj) -> int:
    try:
        return int((obj.get("metadata", {}).get("annotations") or {}).get(REVISION) or 0)
    except ValueError:
        return 0


def spec_replicas(rs: Obj) -> int:
    return int((rs.get("spec") or {}).get("replicas", 0))


def new_replicas(deployment: Obj, all_rs: list[Obj], new_rs: Obj) -> int:
    """How many replicas the new ReplicaSet may have now under RollingUpdate."""
    replicas = int((deployment.get("spec") or {}).get("replicas", 1))
    current = spec_replicas(new_rs)
    if current >= replicas:
        return replicas
    surge, _ = surge_and_unavailable(deployment)
    total = sum(spec_replicas(rs) for rs in all_rs)
    room = replicas + surge - total
    if room <= 0:
        return current
    return current + min(room, replicas - current)


def max_unavailable(deployment: Obj) -> int:
    """MaxUnavailable: zero for Recreate or zero replicas, never more than the replicas."""
    spec = deployment.get("spec") or {}
    replicas = int(spec.get("replicas", 1))
    if (spec.get("strategy") or {}).get("type") == "Recreate" or replicas == 0:
        return 0
    return min(surge_and_unavailable(deployment)[1], replicas)


def made_progress(old: Obj, new: Obj) -> bool:
    """DeploymentProgressing: more updated, ready or available replicas, or fewer old ones."""

    def get(st: Obj, key: str) -> int:
        return int(st.get(key, 0))

    old_pods = get(old, "replicas") - get(old, "updatedReplicas")
    new_pods = get(new, "replicas") - get(new, "updatedReplicas")
    return (
        get(new, "updatedReplicas") > get(old, "updatedReplicas")
        or get(new, "readyReplicas") > get(old, "readyReplicas")
        or get(new, "availableReplicas") > get(old, "availableReplicas")
        or new_pods < old_pods
    )


def max_surge(deployment: Obj) -> int:
    """MaxSurge: zero unless RollingUpdate."""
    if ((deployment.get("spec") or {}).get("strategy") or {}).get("type") == "Recreate":
        return 0
    return surge_and_unavailable(deployment)[0]


def complete(deployment: Obj, status: Obj) -> bool:
    """DeploymentComplete: every replica updated and available, none old, and the latest spec observed."""
    replicas = int((deployment.get("spec") or {}).get("replicas", 1))
    return (
        int(status.get("updatedReplicas", 0)) == replicas
        and int(status.get("replicas", 0)) == replicas
        and int(status.get("availableReplicas", 0)) == replicas
        and int(status.get("observedGeneration", 0))
        >= int((deployment.get("metadata") or {}).get("generation", 1))
    )
