"""The Job controller's decisions, pure (``pkg/controller/job/job_controller.go`` ``syncJob``, v1.36): counts,
the interim ``FailureTarget``/``SuccessCriteriaMet`` conditions, the terminal ``Failed``/``Complete`` once no pod
is active, backoff for replacements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubesim.controllers.pods import is_running_and_ready

Obj = dict[str, Any]
BACKOFF_LIMIT = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
DEADLINE = ("DeadlineExceeded", "Job was active longer than specified deadline")
COMPLETIONS = ("CompletionsReached", "Reached expected number of succeeded pods")
POD_BACKOFF_SECONDS = 10.0
POD_BACKOFF_MAX = 360.0


@dataclass
class Decision:
    """What one sync does: pods to create or delete, and the conditions to add (type, reason, message)."""

    create: int = 0
    delete: list[str] = field(default_factory=list)
    conditions: list[tuple[str, str, str]] = field(default_factory=list)
    complete: bool = False  # completionTime set
    wait: float | None = None  # seconds until a deadline or a backoff ends


def has(job: Obj, kind: str) -> bool:
    conditions = (job.get("status") or {}).get("conditions") or []
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)


def finished(job: Obj) -> bool:
    return has(job, "Complete") or has(job, "Failed")


def _phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")


def restarts(pods: list[Obj]) -> int:
    """pastBackoffLimitOnFailure's sum: restarts of the active pods' containers."""
    return sum(
        int(cs.get("restartCount") or 0)
        for p in pods
        if _phase(p) in ("Pending", "Running")
        for key in ("initContainerStatuses", "containerStatuses")
        for cs in (p.get("status") or {}).get(key) or []
    )


def pod_backoff(failures: int) -> float:
    """The delay before a replacement after ``failures`` failed pods: 10 s doubling, at most 6 min."""
    return 0.0 if failures <= 0 else min(POD_BACKOFF_MAX, POD_BACKOFF_SECONDS * 2 ** (failures - 1))


def decide(
    job: Obj, pods: list[Obj], failed: int, elapsed: float, since_failure: float, scale: float
) -> Decision:
    """``failed``: failed pods counted so far; ``elapsed``: seconds since startTime; ``since_failure``: since the
    last failure; ``scale``: the kubesim time scale applied to the replacement back-off."""
    spec = job["spec"]
    active = [p for p in pods if _phase(p) not in ("Succeeded", "Failed")]
    names = [p["metadata"]["name"] for p in active]
    succeeded = sum(1 for p in pods if _phase(p) == "Succeeded")
    completions = spec.get("completions")
    d = Decision()
    target = next(
        (c for c in (job.get("status") or {}).get("conditions") or [] if c.get("type") == "FailureTarget"),
        None,
    )
    if target is not None:
        d.delete = names
        if not active:
            d.conditions.append(("Failed", target["reason"], target["message"]))
        return d
    if has(job, "SuccessCriteriaMet") or (completions is not None and succeeded >= int(completions)):
        if not has(job, "SuccessCriteriaMet"):
            d.conditions.append(("SuccessCriteriaMet", *COMPLETIONS))
        d.delete = names
        if not active:
            d.conditions.append(("Complete", *COMPLETIONS))
            d.complete = True
        return d
    limit = int(spec.get("backoffLimit", 6))
    on_failure = (spec["template"].get("spec") or {}).get("restartPolicy") == "OnFailure"
    total_restarts = restarts(pods) if on_failure else 0
    deadline = spec.get("activeDeadlineSeconds")
    if failed > limit or (on_failure and (total_restarts > 0 if limit == 0 else total_restarts >= limit)):
        d.conditions.append(("FailureTarget", *BACKOFF_LIMIT))
    elif deadline is not None and elapsed >= int(deadline):
        d.conditions.append(("FailureTarget", *DEADLINE))
    if d.conditions:
        d.delete = names
        if not active:
            d.conditions.append(("Failed", d.conditions[0][1], d.conditions[0][2]))
        return d
    if deadline is not None:
        d.wait = max(0.0, int(deadline) - elapsed)
    if spec.get("suspend"):
        d.delete = names
        return d
    parallelism = int(spec.get("parallelism", 1))
    wanted = parallelism if completions is None else min(parallelism, int(completions) - succeeded)
    if completions is None and succeeded:
        wanted = 0
    backoff = pod_backoff(failed) * scale
    if wanted > len(active) and since_failure < backoff:
        d.wait = min(d.wait if d.wait is not None else backoff, backoff - since_failure)
    else:
        d.create = max(0, wanted - len(active))
    return d


def counts(pods: list[Obj], failed: int) -> Obj:
    """The status counts in the real field order (active, succeeded and failed omitted when 0)."""
    active = [p for p in pods if _phase(p) not in ("Succeeded", "Failed")]
    result: Obj = {
        "active": len(active),
        "succeeded": sum(1 for p in pods if _phase(p) == "Succeeded"),
        "failed": failed,
    }
    result = {k: v for k, v in result.items() if v}
    return {
        **result,
        "terminating": 0,
        "uncountedTerminatedPods": {},
        "ready": sum(1 for p in active if is_running_and_ready(p)),
    }
