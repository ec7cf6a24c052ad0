"""Judging a rollout from what the cluster shows: complete, still progressing, or certainly failed.

What counts as certain failure follows what the kubelet itself concludes (``pkg/kubelet``):

- **Crashes.** A container's first exit is restarted at once; from the second on the kubelet backs off
  (``CrashLoopBackOff``, 10 s doubling to 5 min). A new pod's container that has exited ``Thresholds.restarts``
  times (``restartCount``, plus one while it is down after an exit) and is not ready fails the rollout: with the
  default 2, exactly when the kubelet declares ``CrashLoopBackOff``.
- **Pulls.** ``ErrImagePull`` is one failed attempt, which the kubelet retries after 10 s, 20 s, 40 s, ...
  (``ImagePullBackOff`` in between): a registry that rate-limits or a slow mirror often answers on a retry. A pull
  failure fails the rollout only once the pod has existed ``Thresholds.image_pull_grace_seconds`` without its image (from
  the pod's ``status.startTime``): by then the kubelet has retried and is backing off. 0 fails at the first
  ``ErrImagePull``. An image the kubelet will never pull (``InvalidImageName``, ``ErrImageNeverPull``) fails at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from deployreq.api.times import parse_or_none

if TYPE_CHECKING:
    from deployreq.config import Settings

Obj = dict[str, Any]
HASH_LABEL = "pod-template-hash"
# Waiting reasons that mean a new pod will not become ready without a change.
FATAL_WAITING = frozenset(
    {"InvalidImageName", "CreateContainerConfigError", "CreateContainerError", "ErrImageNeverPull"}
)
# Waiting reasons of a failed pull the kubelet retries on its back-off: fatal only once they persist.
PULL_WAITING = frozenset({"ErrImagePull", "ImagePullBackOff", "RegistryUnavailable"})


@dataclass(frozen=True)
class Thresholds:
    restarts: int = 2
    """Exits of a new pod's container that make a crash loop certain (2: when the kubelet says CrashLoopBackOff)."""

    image_pull_grace_seconds: float = 60.0
    """How long a new pod may fail to pull its image (ErrImagePull, ImagePullBackOff) before the rollout fails."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            restarts=settings.crash_restart_threshold,
            image_pull_grace_seconds=settings.image_pull_grace_seconds,
        )


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


def exits(container_status: Obj) -> int:
    """How many times a container has exited: its restarts, plus one while it is down after an exit (the first
    exit shows ``terminated``, later ones ``waiting: CrashLoopBackOff``)."""
    state = container_status.get("state") or {}
    down = "terminated" in state or (state.get("waiting") or {}).get("reason") == "CrashLoopBackOff"
    return int(container_status.get("restartCount") or 0) + (1 if down else 0)


def pod_failure(pods: list[Obj], thresholds: Thresholds, now: float | None = None) -> str | None:
    """A message naming a new pod whose container certainly will not become ready, or None. ``now`` (epoch
    seconds) dates pull failures; without it a pull failure is judged at once."""
    for pod in sorted(pods, key=lambda p: str(p.get("metadata", {}).get("name", ""))):
        meta = pod.get("metadata") or {}
        name = meta.get("name", "?")
        status = pod.get("status") or {}
        since = parse_or_none(status.get("startTime") or meta.get("creationTimestamp"))
        for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
            waiting = (cs.get("state") or {}).get("waiting") or {}
            reason = waiting.get("reason", "")
            restarts = int(cs.get("restartCount") or 0)
            detail = f": {waiting['message']}" if waiting.get("message") else ""
            if reason in FATAL_WAITING:
                return f'pod {name} container "{cs.get("name")}" is {reason} (restarts: {restarts}){detail}'
            if reason in PULL_WAITING:
                failing = now - since if now is not None and since is not None else None
                if failing is None or failing >= thresholds.image_pull_grace_seconds:
                    limit = f"{thresholds.image_pull_grace_seconds:g}s"
                    age = f" for {failing:.0f}s (limit {limit})" if failing is not None else ""
                    return (
                        f'pod {name} container "{cs.get("name")}" has not pulled its image{age}: '
                        f"{reason}{detail}"
                    )
                continue
            crashed = exits(cs)
            if crashed >= thresholds.restarts and not cs.get("ready"):
                shown = f"{reason}, " if reason else ""
                return (
                    f'pod {name} container "{cs.get("name")}" exited {crashed} times '
                    f"({shown}restarts: {restarts}){detail}"
                )
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
    failure = pod_failure([p for p in pods if new_uid and controlled_by(p, new_uid)], thresholds, now)
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
