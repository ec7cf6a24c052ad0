"""Running a ``job`` gate's Job: create it if absent, wait for it on a watch, report how it ended.

The decisions (its name, its body, what is refused, the verdict) are :mod:`deployreq.decide.job_gate`'s; this module
makes the calls:

- create with ``fieldValidation=Strict``: a Job the API server refuses (400, 403, 422) fails the gate at once with
  the server's message, and nothing was created; a 409 (the name exists) adopts the Job when it is this request's,
  so a restarted operator waits for the Job it created instead of starting a second one;
- wait on a watch of that one Job (``fieldSelector=metadata.name``) from the resourceVersion last seen, resumed when
  the server ends it, read again on ``410 Gone``: no polling;
- the job's ``timeoutSeconds`` counts from the Job's creation (so it survives a restart); a Job still running then
  is deleted (background propagation: its pods go with it) and the gate fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from deployreq import errors
from deployreq.api.job_spec import JobGate
from deployreq.api.request import Request
from deployreq.api.times import epoch
from deployreq.cluster import kube
from deployreq.decide import job_gate
from deployreq.gates import GateError, Observation

log = logging.getLogger(__name__)

Obj = dict[str, Any]
REFUSED = (400, 403, 422)
SELF_SUBJECT_REVIEWS = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
WATCH_SECONDS = 300
RETRY_SECONDS = 1.0


def jobs_path(namespace: str, name: str | None = None) -> str:
    path = kube.collection_path("/apis/batch/v1", "jobs", namespace)
    return f"{path}/{quote(name)}" if name else path


def failed(message: str) -> Observation:
    return Observation(False, "", message, final=True)


class JobRuns:
    """Runs the Jobs of ``job`` gates with the operator's client.

    The operator's own ServiceAccount (namespace, name), when it runs as one, is asked of the API server once, at the
    first job gate (a SelfSubjectReview: who the server says the operator is, however it authenticates), so that a
    JobSpec naming it is refused; while the server cannot answer, the token's own subject stands in.
    """

    def __init__(self, client: kube.Kube, wall: Callable[[], float] = time.time) -> None:
        self.client = client
        self.wall = wall
        self._own: tuple[tuple[str, str] | None] | None = None

    async def own_account(self) -> tuple[str, str] | None:
        if self._own is not None:
            return self._own[0]
        review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        try:
            answer = await self.client.create(SELF_SUBJECT_REVIEWS, review)
        except errors.ApiError as exc:
            log.warning(
                "who the operator is: the SelfSubjectReview failed (%s); using its token's subject", exc
            )
            return job_gate.service_account(self.client.credentials.subject)
        username = ((answer.get("status") or {}).get("userInfo") or {}).get("username")
        self._own = (job_gate.service_account(str(username or "")),)
        return self._own[0]

    def runner(self, req: Request, stage: str) -> Callable[[str, JobGate], Awaitable[Observation]]:
        """The ``run_job`` of one request's stage (:class:`deployreq.gates.GateEnv`)."""

        async def run_job(gate: str, job: JobGate) -> Observation:
            return await self.run(req, stage, gate, job)

        return run_job

    async def run(self, req: Request, stage: str, gate: str, job: JobGate) -> Observation:
        """Create (or adopt) the gate's Job and wait until it finishes or the gate's timeout passes. An API error
        that may pass is a GateError (the gate counts a failed check, and the next check finds the Job again)."""
        try:
            return await self._run(req, stage, gate, job)
        except errors.ApiError as exc:
            raise GateError(f"job gate {gate}: {exc}") from None

    async def _run(self, req: Request, stage: str, gate: str, job: JobGate) -> Observation:
        refused = job_gate.refusal(job, req.namespace, await self.own_account())
        if refused is not None:
            return failed(refused)
        body = job_gate.job_body(req, stage, gate, job)
        name = body["metadata"]["name"]
        try:
            current = await self._create(req, body)
        except errors.ApiError as exc:
            if exc.code in REFUSED:
                return failed(f"the API server refused Job {name}: {exc.message}")
            raise
        if current is None:
            return failed(f"a Job named {name} exists and does not belong to this request")
        deadline = epoch(current["metadata"].get("creationTimestamp")) + job.timeout_seconds
        current = await self._until_finished(req.namespace, name, current, deadline)
        if current is None:
            return failed(f"Job {name} was deleted before it finished")
        verdict = job_gate.verdict(current)
        if verdict is None:
            await self._delete(req.namespace, name)
            return failed(f"Job {name} did not finish within {job.timeout_seconds}s; the operator deleted it")
        if verdict.passed:
            return Observation(True, verdict.message)
        return failed(verdict.message)

    async def _create(self, req: Request, body: Obj) -> Obj | None:
        """The created Job, or the existing one of that name when it is this request's (None when it is not)."""
        namespace, name = req.namespace, body["metadata"]["name"]
        try:
            created = await self.client.request(
                "POST", jobs_path(namespace), body=body, params={"fieldValidation": "Strict"}
            )
            log.info("%s: created Job %s", req.ref, name)
            return created
        except errors.Conflict:
            existing = await self.client.get_or_none(jobs_path(namespace, name))
        if existing is None:  # deleted between the 409 and the read: the next check creates it
            raise GateError(f"Job {name} was deleted while the operator read it")
        if not job_gate.owned_by(existing, req):
            return None
        log.info("%s: found its Job %s (created before a restart)", req.ref, name)
        return existing

    async def _until_finished(self, namespace: str, name: str, job: Obj, deadline: float) -> Obj | None:
        """The Job once finished, or as last seen at the deadline; None when it was deleted."""
        current: Obj | None = job
        while current is not None and job_gate.verdict(current) is None:
            remaining = deadline - self.wall()
            if remaining <= 0:
                break
            began = self.wall()
            try:
                async with asyncio.timeout(remaining):
                    current = await self._watch(namespace, name, current, remaining)
                if self.wall() - began < RETRY_SECONDS:  # a watch ended at once: do not spin on it
                    await asyncio.sleep(RETRY_SECONDS)
            except TimeoutError:
                break
            except errors.ApiError as exc:
                if not (exc.code == 410 or exc.transient):
                    raise
                log.debug("Job %s: watch ended (%s); reading it again", name, exc)
                await asyncio.sleep(RETRY_SECONDS if exc.transient else 0)
                current = await self.client.get_or_none(jobs_path(namespace, name))
        return current

    async def _watch(self, namespace: str, name: str, job: Obj, remaining: float) -> Obj | None:
        """Follow one watch of the Job from its resourceVersion until it finishes or the stream ends."""
        params = {
            "fieldSelector": f"metadata.name={name}",
            "resourceVersion": str(job["metadata"].get("resourceVersion") or ""),
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(max(1, min(WATCH_SECONDS, int(remaining) + 1))),
        }
        async for event in self.client.watch(jobs_path(namespace), params):
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                raise errors.ApiError(
                    int(obj.get("code") or 0), str(obj.get("reason")), str(obj.get("message"))
                )
            if kind == "DELETED":
                return None
            if kind == "BOOKMARK":
                job = {**job, "metadata": {**job["metadata"], **(obj.get("metadata") or {})}}
                continue
            job = obj
            if job_gate.verdict(job) is not None:
                break
        return job

    async def _delete(self, namespace: str, name: str) -> None:
        with contextlib.suppress(errors.NotFound):
            await self.client.request(
                "DELETE", jobs_path(namespace, name), body={"propagationPolicy": "Background"}
            )
