"""The CronJob controller (``pkg/controller/cronjob/cronjob_controllerv2.go``): a Job at each scheduled time
(named ``<cronjob>-<minutes since the epoch>``), concurrencyPolicy, startingDeadlineSeconds, suspend, the status'
active Jobs and last schedule and success times, finished Jobs beyond the history limits deleted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kubesim.api import cron
from kubesim.controllers import events
from kubesim.controllers.base import Key, OwnerController, owner_reference
from kubesim.controllers.job_math import finished, has
from kubesim.storage.objects import clone

Obj = dict[str, Any]
COMPONENT = "cronjob-controller"
SCHEDULED = "batch.kubernetes.io/cronjob-scheduled-timestamp"


def _parse(stamp: str | None) -> datetime | None:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None


def _rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def job_reference(job: Obj) -> Obj:
    meta = job["metadata"]
    return {
        "kind": "Job",
        "namespace": meta["namespace"],
        "name": meta["name"],
        "uid": meta["uid"],
        "apiVersion": "batch/v1",
        "resourceVersion": meta["resourceVersion"],
    }


class CronJobController(OwnerController):
    name = "cronjob"
    owner = ("batch", "cronjobs")
    owner_kind = "CronJob"
    child = ("batch", "jobs")

    def sync(self, key: Key) -> None:
        cj = self.live_owner(key)
        if cj is None:
            return
        jobs = self.children_of(cj)
        status = dict(cj.get("status") or {})
        active = self._track(cj, jobs, status)
        self._cleanup(cj, jobs)
        now = datetime.fromtimestamp(self.store.clock(), UTC)
        spec = cj["spec"]
        if not spec.get("suspend"):
            since = _parse(status.get("lastScheduleTime")) or _parse(cj["metadata"]["creationTimestamp"])
            assert since is not None
            due = cron.last_due(spec["schedule"], since, now, spec.get("timeZone"))
            deadline = spec.get("startingDeadlineSeconds")
            if due is not None and (deadline is None or (now - due).total_seconds() <= int(deadline)):
                active = self._run(cj, due, active, status)
            upcoming = cron.next_after(spec["schedule"], due or now, spec.get("timeZone"))
            self.later(key, max(0.0, (upcoming - now).total_seconds()) + 0.05)
        self._write_status(cj, status, active)

    def _track(self, cj: Obj, jobs: list[Obj], status: Obj) -> list[Obj]:
        """The status' active Jobs: running ones kept; a finished one leaves (SawCompletedJob), a successful one
        moving lastSuccessfulTime."""
        listed = {ref.get("uid"): ref for ref in status.get("active") or []}
        active = []
        for job in sorted(jobs, key=lambda j: j["metadata"]["creationTimestamp"]):
            if not finished(job):
                active.append(listed.get(job["metadata"]["uid"]) or job_reference(job))
                continue
            if job["metadata"]["uid"] in listed:
                condition = "Complete" if has(job, "Complete") else "Failed"
                message = f"Saw completed job: {job['metadata']['name']}, condition: {condition}"
                events.record(self.store, cj, "SawCompletedJob", message, COMPONENT)
            completed = (job.get("status") or {}).get("completionTime")
            if has(job, "Complete") and completed and completed > str(status.get("lastSuccessfulTime") or ""):
                status["lastSuccessfulTime"] = completed
        return active

    def _cleanup(self, cj: Obj, jobs: list[Obj]) -> None:
        """Finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit, oldest first."""
        for condition, limit_field in (
            ("Complete", "successfulJobsHistoryLimit"),
            ("Failed", "failedJobsHistoryLimit"),
        ):
            done = sorted(
                (j for j in jobs if has(j, condition)), key=lambda j: j["metadata"]["creationTimestamp"]
            )
            limit = int(cj["spec"].get(limit_field, 3 if condition == "Complete" else 1))
            for job in done[: max(0, len(done) - limit)]:
                ns, name = job["metadata"]["namespace"], job["metadata"]["name"]
                self.store.delete(self.children, ns, name, propagation="Background")
                events.record(self.store, cj, "SuccessfulDelete", f"Deleted job {name}", COMPONENT)

    def _run(self, cj: Obj, due: datetime, active: list[Obj], status: Obj) -> list[Obj]:
        """The Job of the time ``due`` (unless it exists), as concurrencyPolicy allows."""
        ns = cj["metadata"]["namespace"]
        name = f"{cj['metadata']['name']}-{int(due.timestamp()) // 60}"
        if self.store.peek(self.children, ns, name) is not None:
            return active
        policy = cj["spec"].get("concurrencyPolicy", "Allow")
        if policy == "Forbid" and active:
            return active
        if policy == "Replace":
            for ref in active:
                self.store.delete(self.children, ns, ref["name"], propagation="Background")
                events.record(self.store, cj, "SuccessfulDelete", f"Deleted job {ref['name']}", COMPONENT)
            active = []
        template = clone(cj["spec"].get("jobTemplate") or {})
        meta = template.get("metadata") or {}
        job_meta: Obj = {"name": name, "namespace": ns, "ownerReferences": [owner_reference(cj)]}
        if meta.get("labels"):
            job_meta["labels"] = meta["labels"]
        job_meta["annotations"] = {**(meta.get("annotations") or {}), SCHEDULED: _rfc3339(due)}
        job = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": job_meta,
            "spec": template.get("spec") or {},
        }
        created = self.store.create(self.children, ns, job)
        events.record(self.store, cj, "SuccessfulCreate", f"Created job {name}", COMPONENT)
        status["lastScheduleTime"] = _rfc3339(due)
        return [*active, job_reference(created)]

    def _write_status(self, cj: Obj, status: Obj, active: list[Obj]) -> None:
        new: Obj = {"active": active} if active else {}
        for field in ("lastScheduleTime", "lastSuccessfulTime"):
            if status.get(field):
                new[field] = status[field]
        self.write_status(cj, new)
