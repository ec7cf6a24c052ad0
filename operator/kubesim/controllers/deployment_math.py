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


def _annotation_int(rs: Obj, key: str) -> int | None:
    try:
        return int((rs.get("metadata", {}).get("annotations") or {})[key])
    except (KeyError, ValueError):
        return None


def is_scaling_event(deployment: Obj, rses: list[Obj]) -> bool:
    """isScalingEvent: an active ReplicaSet's desired-replicas annotation differs from spec.replicas."""
    replicas = int((deployment.get("spec") or {}).get("replicas", 1))
    for rs in rses:
        desired = _annotation_int(rs, DESIRED)
        if spec_replicas(rs) > 0 and desired is not None and desired != replicas:
            return True
    return False


def active_or_latest(new_rs: Obj | None, old_rs: list[Obj]) -> Obj | None:
    """FindActiveOrLatest: the only ReplicaSet with replicas, else the new one or the newest old one."""
    olds = sorted(old_rs, key=lambda r: str(r["metadata"]["creationTimestamp"]), reverse=True)
    active = [rs for rs in [*olds, *([new_rs] if new_rs else [])] if spec_replicas(rs) > 0]
    if len(active) == 1:
        return active[0]
    if not active:
        return new_rs if new_rs is not None else (olds[0] if olds else None)
    return None


def is_saturated(deployment: Obj, rs: Obj) -> bool:
    """IsSaturated: the ReplicaSet has, wants and makes available exactly spec.replicas."""
    replicas = int((deployment.get("spec") or {}).get("replicas", 1))
    return (
        spec_replicas(rs) == replicas
        and _annotation_int(rs, DESIRED) == replicas
        and int((rs.get("status") or {}).get("availableReplicas", 0)) == replicas
    )


def _round(value: float) -> int:
    """Go's math.Round: halves away from zero."""
    return math.floor(abs(value) + 0.5) * (1 if value >= 0 else -1)


def proportional_sizes(deployment: Obj, active: list[Obj]) -> list[tuple[Obj, int]]:
    """New sizes of the active ReplicaSets when spec.replicas changed mid-rollout (GetProportion and the
    leftover going to the first one: the largest, newest when adding, oldest when removing)."""
    replicas = int((deployment.get("spec") or {}).get("replicas", 1))
    allowed = replicas + max_surge(deployment) if replicas > 0 else 0
    to_add = allowed - sum(spec_replicas(rs) for rs in active)
    if to_add == 0:
        return [(rs, spec_replicas(rs)) for rs in active]
    by_time = sorted(active, key=lambda r: str(r["metadata"]["creationTimestamp"]), reverse=to_add > 0)
    ordered = sorted(by_time, key=spec_replicas, reverse=True)
    status_replicas = int((deployment.get("status") or {}).get("replicas", 0))
    added = 0
    sizes: list[tuple[Obj, int]] = []
    for rs in ordered:
        current = spec_replicas(rs)
        proportion = 0
        if current and to_add != added:
            if replicas == 0:
                fraction = -current
            else:
                annotated = _annotation_int(rs, MAX_REPLICAS) or status_replicas or 1
                fraction = _round(current * (replicas + max_surge(deployment)) / annotated) - current
            left = to_add - added
            proportion = min(fraction, left) if to_add > 0 else max(fraction, left)
        sizes.append((rs, current + proportion))
        added += proportion
    first, size = sizes[0]
    sizes[0] = (first, max(0, size + to_add - added))
    return sizes
