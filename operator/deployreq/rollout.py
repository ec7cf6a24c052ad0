"""Judging a rollout from what the cluster shows: complete, still progressing, or certainly failed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Obj = dict[str, Any]
HASH_LABEL = "pod-template-hash"
# Waiting reasons that mean a new pod will not become ready without a change.
FATAL_WAITING = frozenset(
    {
        "CrashLoopBackOff",
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "ErrImageNeverPull",
    }
)


@dataclass(frozen=True)
class Thresholds:
    restarts: int = 2
    """Container restarts of a new pod that make failure certain."""


@dataclass(frozen=True)
class Verdict:
    state: Literal["Progressing", "Complete", "Failed"]
    reason: str = ""
    message: str = ""


def template_without_hash(template: Obj) -> Obj:
    meta = dict(template.get("metadata") or {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != HASH_LABEL}
    if labels:
        meta["labels"] = labels
    else:
        meta.pop("labels", None)
    return {**template, "metadata": meta}


def controlled_by(rs: Obj, uid: str) -> bool:
    return any(
        ref.get("uid") == uid and ref.get("controller")
        for ref in rs.get("metadata", {}).get("ownerReferences") or []
    )


def new_replicaset(deployment: Obj, replicasets: list[Obj]) -> Obj | None:
    """The ReplicaSet running the Deployment's current template (the oldest one when several match)."""
    uid = deployment.get("metadata", {}).get("uid")
    wanted = template_without_hash((deployment.get("spec") or {}).get("template") or {})
    matches = [
        rs
        for rs in replicasets
        if controlled_by(rs, str(uid))
        and template_without_hash((rs.get("spec") or {}).get("template") or {}) == wanted
    ]
    if not matches:
        return None
    return min(
        matches, key=lambda rs: (str(rs["metadata"].get("creationTimestamp", "")), rs["metadata"]["name"])
    )


def _condition(deployment: Obj, type_: str) -> Obj | None:
    for cond in (deployment.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return cond  # type: ignore[no-any-return]
    return None


def pod_failure(pods: list[Obj], thresholds: Thresholds) -> str | None:
    """A message naming a new pod whose container certainly will not become ready, or None."""
    for pod in sorted(pods, key=lambda p: str(p.get("metadata", {}).get("name", ""))):
        name = pod.get("metadata", {}).get("name", "?")
        status = pod.get("status") or {}
        for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
            waiting = (cs.get("state") or {}).get("waiting") or {}
            reason = waiting.get("reason", "")
            restarts = int(cs.get("restartCount") or 0)
            if reason in FATAL_WAITING:
                detail = f": {waiting['message']}" if waiting.get("message") else ""
                return f'pod {name} container "{cs.get("name")}" is {reason} (restarts: {restarts}){detail}'
            if restarts >= thresholds.restarts and not cs.get("ready"):
                return f'pod {name} container "{cs.get("name")}" restarted {restarts} times'
    return None


def verdict(
    deployment: Obj,
    new_rs: Obj | None,
    pods: list[Obj],
    now: float,
    started_at: float,
    timeout_seconds: float,
    thresholds: Thresholds,
) -> Verdict:
    """Complete exactly when ``kubectl rollout status`` would say so; Failed as soon as failure is certain.

    Only pods controlled by ``new_rs`` can make failure certain: old pods crashing say nothing about the new images.
    Beyond kubectl, Complete also needs ``new_rs`` (when replicas > 0): a cache that has not seen it yet is stale.
    """
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    name = deployment.get("metadata", {}).get("name", "")
    generation = int(deployment.get("metadata", {}).get("generation") or 0)
    observed = int(status.get("observedGeneration") or 0) >= generation
    progressing = _condition(deployment, "Progressing")
    # As kubectl: conditions describe the spec only once the controller observed it (a stale deadline is no verdict).
    if observed and progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Verdict(
            "Failed", "ProgressDeadlineExceeded", f'deployment "{name}" exceeded its progress deadline'
        )
    new_uid = str((new_rs or {}).get("metadata", {}).get("uid", ""))
    failure = pod_failure([p for p in pods if new_uid and controlled_by(p, new_uid)], thresholds)
    if failure:
        return Verdict("Failed", "PodsFailing", failure)
    replicas = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    if (
        observed
        and updated >= replicas
        and total <= updated
        and available >= updated
        and (new_rs is not None or replicas == 0)
    ):
        return Verdict("Complete", "Available", f'deployment "{name}" successfully rolled out')
    if started_at and now > started_at + timeout_seconds:
        return Verdict(
            "Failed",
            "Timeout",
            f"rollout did not complete within {int(timeout_seconds)}s "
            f"({available} of {replicas} replicas available, {updated} updated)",
        )
    return Verdict("Progressing", "Progressing", f"{updated} of {replicas} updated, {available} available")
