"""The Job controller and the TTL-after-finished controller (``pkg/controller/job``, ``pkg/controller/ttlafterfinished``):
pods until enough succeeded, failures against ``backoffLimit``, ``activeDeadlineSeconds``, the v1.36 conditions
and status, finished Jobs deleted after ``ttlSecondsAfterFinished``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from kubesim.controllers import events
from kubesim.controllers import job_math as jm
from kubesim.controllers.base import Key, OwnerController
from kubesim.controllers.pods import pod_from_template
from kubesim.storage.objects import now_rfc3339
from kubesim.storage.store import Store

if TYPE_CHECKING:
    from kubesim.controllers import ControllerSettings

Obj = dict[str, Any]
COMPONENT = "job-controller"


def _epoch(stamp: str | None) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() if stamp else 0.0


def _finished_at(pod: Obj) -> float:
    states = [cs.get("state") or {} for cs in (pod.get("status") or {}).get("containerStatuses") or []]
    return max((_epoch((s.get("terminated") or {}).get("finishedAt")) for s in states), default=0.0)


class JobController(OwnerController):
    name = "job"
    owner = ("batch", "jobs")
    owner_kind = "Job"

    def __init__(self, store: Store, settings: ControllerSettings) -> None:
        super().__init__(store)
        self.settings = settings

    def sync(self, key: Key) -> None:
        job = self.live_owner(key)
        if job is None:
            return
        if jm.finished(job):
            self._expire(job)
            return
        pods = self.children_of(job)
        status = dict(job.get("status") or {})
        now = self.store.clock()
        status.setdefault("startTime", now_rfc3339(self.store.clock))
        failed_pods = [p for p in pods if (p.get("status") or {}).get("phase") == "Failed"]
        failed = max(int(status.get("failed", 0)), len(failed_pods))
        last_failure = max((_finished_at(p) for p in failed_pods), default=0.0)
        scale = max(0.0, self.settings.time_scale)
        d = jm.decide(job, pods, failed, now - _epoch(status["startTime"]), now - last_failure, scale)
        failing = jm.has(job, "FailureTarget") or any(kind == "FailureTarget" for kind, _, _ in d.conditions)
        for name in d.delete:
            self.store.delete(self.children, key[0], name)
            failed += 1 if failing else 0  # pods ended because the Job fails count as failed
        pods = [p for p in pods if p["metadata"]["name"] not in d.delete]
        for _ in range(d.create):
            self._create_pod(job)
        if d.wait is not None:
            self.later(key, d.wait + 0.05)
        self.write_status(job, self._status(job, status, d, jm.counts(self.children_of(job), failed)))

    def _create_pod(self, job: Obj) -> None:
        created = self.store.create(
            self.children, job["metadata"]["namespace"], pod_from_template(job, job["spec"]["template"], {})
        )
        events.record(
            self.store, job, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}", COMPONENT
        )

    def _status(self, job: Obj, status: Obj, d: jm.Decision, counts: Obj) -> Obj:
        """The Job's new status: the decision's conditions (and their Events), its times and pod counts."""
        stamp = now_rfc3339(self.store.clock)
        conditions = list(status.get("conditions") or [])
        for kind, reason, message in d.conditions:
            conditions.append(
                {
                    "type": kind,
                    "status": "True",
                    "lastProbeTime": stamp,
                    "lastTransitionTime": stamp,
                    "reason": reason,
                    "message": message,
                }
            )
            if kind in ("Complete", "Failed"):
                warning = kind == "Failed"
                event_reason, text = (reason, message) if warning else ("Completed", "Job completed")
                events.record(
                    self.store, job, event_reason, text, COMPONENT, "Warning" if warning else "Normal"
                )
        new: Obj = {"conditions": conditions} if conditions else {}
        new["startTime"] = status["startTime"]
        if d.complete:
            new["completionTime"] = stamp
        elif status.get("completionTime"):
            new["completionTime"] = status["completionTime"]
        return new | counts

    def _expire(self, job: Obj) -> None:
        """The TTL-after-finished controller: a finished Job with ``ttlSecondsAfterFinished`` is deleted (in the
        foreground, with its pods) that long after it finished."""
        ttl = job["spec"].get("ttlSecondsAfterFinished")
        if ttl is None:
            return
        finished = [
            _epoch(c.get("lastTransitionTime"))
            for c in (job.get("status") or {}).get("conditions") or []
            if c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
        ]
        due = max(finished, default=0.0) + int(ttl)
        now = self.store.clock()
        ns, name = job["metadata"]["namespace"], job["metadata"]["name"]
        if now >= due:
            self.store.delete(self.owners, ns, name, propagation="Foreground")
        else:
            self.later((ns, name), due - now + 0.05)
