"""One worker per namespace: keeps the queue current, holds the namespace Lease, and drives the active request.

Workers are woken by watch events (any change to a request, Deployment, ReplicaSet or Pod of the namespace) and by
their own timers (deadlines, lease renewal, retry backoff); they never poll on a fixed interval. Every decision comes
from the pure modules (:mod:`queue`, :mod:`progress`, :mod:`run`); this module only sequences them and the writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from deployreq import errors
from deployreq.api import times
from deployreq.api.names import REVISION_ANNOTATION
from deployreq.api.phases import ACTIVE, Phase
from deployreq.api.request import Request
from deployreq.cluster import kube
from deployreq.cluster.cache import Cache
from deployreq.cluster.events import Recorder
from deployreq.cluster.lease import LeaseLock
from deployreq.config import Settings
from deployreq.decide import availability, progress, prune, queue, rollback, rollout, run, semantic
from deployreq.durations import format_seconds
from deployreq.engine.actions import Actions, image_list
from deployreq.engine.gate_runs import GateRuns
from deployreq.gates import skip_refusal, validate_gates

log = logging.getLogger(__name__)

MAX_STEPS_PER_PASS = 20


@dataclass
class Context:
    """What every worker shares."""

    settings: Settings
    client: kube.Kube
    cache: Cache
    actions: Actions
    recorder: Recorder
    wall: Callable[[], float] = time.time
    observers: list[Callable[[str, Request, Phase], None]] = field(default_factory=list)
    on_takeover: Callable[[], None] | None = None
    gates: GateRuns | None = None


def is_waiting(req: Request) -> bool:
    """Whether the request waits in the queue for a run (new, re-queued, changed after it ended, or re-run)."""
    if req.deleting:
        return False
    if req.phase in (Phase.PENDING, Phase.QUEUED):
        return True
    return req.terminal and run.needs_run(req.generation, req.meta.get("annotations") or {}, req.status)


def retry_message(cause: str, attempt: int, attempts: int, at: float, position: int | None = None) -> str:
    """What a request waiting for its next attempt tells: why, which attempt, and when it tries again."""
    where = f" Position {position} in the queue of its namespace." if position else ""
    return (
        f"Waiting to retry: {cause.rstrip('.')}. Attempt {attempt} of {attempts} failed; attempt {attempt + 1} "
        f"starts at {times.rfc3339(round(at))}.{where}"
    )


def entry(req: Request) -> queue.QueueEntry:
    return queue.QueueEntry(
        namespace=req.namespace,
        name=req.name,
        uid=req.uid,
        priority=req.priority,
        created=req.created,
        phase=Phase.QUEUED.value if is_waiting(req) else req.phase.value,
        deployment=req.deployment,
        containers=frozenset(req.spec_images),
    )


class NamespaceWorker:
    def __init__(self, namespace: str, ctx: Context) -> None:
        self.namespace = namespace
        self.ctx = ctx
        self.lock = LeaseLock(
            ctx.client,
            namespace,
            ctx.settings.identity,
            ctx.settings.lease_duration_seconds,
        )
        self.lock.on_takeover = ctx.on_takeover
        self.lock.min_renew_interval = ctx.settings.renew_interval_seconds
        self._wake = asyncio.Event()
        self._deadline: float | None = None  # monotonic
        self.task: asyncio.Task[None] | None = None
        self.thresholds = rollout.Thresholds.from_settings(ctx.settings)
        self.limits = semantic.Limits(
            ctx.settings.max_verification_seconds, ctx.settings.max_rollout_timeout_seconds
        )
        self.waiting = 0  # requests waiting in this namespace's queue, for the queue-depth gauge
        # When finished requests are pruned next (epoch seconds): at once after a start, then as they age.
        self._prune_at: float | None = 0.0

    def wake(self) -> None:
        self._wake.set()

    def wake_at(self, epoch: float) -> None:
        at = time.monotonic() + max(0.0, epoch - self.ctx.wall())
        if self._deadline is None or at < self._deadline:
            self._deadline = at

    def start(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.run(), name=f"deployreq-{self.namespace}")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def run(self) -> None:
        backoff = 0.5
        while True:
            timeout = None if self._deadline is None else max(0.0, self._deadline - time.monotonic())
            if timeout is None or timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            self._deadline = None
            try:
                await self.reconcile()
                backoff = 0.5
            except errors.Conflict as exc:
                # A write decided on a stale copy was refused and the fresh copy read: decide again at once.
                log.info("namespace %s: %s; deciding again on the fresh copy", self.namespace, exc)
                self.wake_at(self.ctx.wall() + 0.05)
            except errors.ApiError as exc:
                log.warning("namespace %s: API error, retrying in %.1fs: %s", self.namespace, backoff, exc)
                self.wake_at(self.ctx.wall() + backoff)
                backoff = min(backoff * 2, 10.0)
            except Exception:
                log.exception("namespace %s: unexpected error, retrying in %.1fs", self.namespace, backoff)
                self.wake_at(self.ctx.wall() + backoff)
                backoff = min(backoff * 2, 30.0)

    # --- one pass ---------------------------------------------------------------------------------------

    async def reconcile(self) -> None:
        if self._prune_at is not None and self.ctx.wall() >= self._prune_at:
            await self._prune()
        if self._prune_at is not None:
            self.wake_at(self._prune_at)  # every pass sets its timers afresh
        if not self.lock.known and not any(r.active or is_waiting(r) for r in self._requests()):
            return  # nothing to run here: do not even read the Lease
        await self.lock.ensure_known()
        if self.lock.held_by_me() and self.lock.due_for_renewal(self.ctx.settings.renew_interval_seconds):
            await self.lock.renew()
        for _ in range(MAX_STEPS_PER_PASS):
            if not await self._pass():
                break
        if self.lock.held_by_me():
            self.wake_at(self.ctx.wall() + self.ctx.settings.renew_interval_seconds)

    def _requests(self) -> list[Request]:
        return self.ctx.cache.requests(self.namespace)

    async def _prune(self) -> None:
        """Delete the finished requests over the history limits (decide/prune.py); again when the next ages out."""
        settings = self.ctx.settings
        decision = prune.plan(
            self._requests(),
            self.ctx.wall(),
            settings.finished_ttl_seconds,
            settings.finished_history_limit,
        )
        self._prune_at = decision.next_at
        for req in decision.delete:
            await self.ctx.actions.delete_finished(req)

    def _pruned_after_finish(self) -> None:
        self._prune_at = self.ctx.wall()
        self.wake()

    async def _pass(self) -> bool:
        """One decision round; True when it changed something and another round may follow at once."""
        reqs = self._requests()
        holder = self.lock.holder
        active = [r for r in reqs if r.active]
        current: Request | None = None
        if holder is not None:
            current = next((r for r in active if r.uid == holder.uid), None)
        if current is None and active:
            current = min(active, key=lambda r: (str(r.status.get("startedAt") or ""), r.created, r.name))
        if current is None and holder is not None and holder.operator == self.ctx.settings.identity:
            stale = next((r for r in reqs if r.uid == holder.uid), None)
            if stale is not None and stale.has_finalizer and stale.terminal:
                await self.ctx.actions.set_finalizer(stale, False)
            # The request we hold the lock for is over: the next one takes it over in one write, else release.
            if not await self._start_next(reqs, hand_over=True):
                await self.lock.release()
            return True
        if current is not None:
            if not await self.lock.acquire(current.name, current.uid):
                self._wait_for_lock()
                await self._update_queue(reqs, None)
                return False
            return await self._drive(current)
        return await self._start_next(reqs)

    def _wait_for_lock(self) -> None:
        remaining = self.lock.recheck_at() - time.monotonic()
        self.wake_at(self.ctx.wall() + max(0.05, remaining + 0.05))

    async def _update_queue(self, reqs: list[Request], starting: str | None) -> queue.QueuePlan:
        waiting = [r for r in reqs if is_waiting(r)]
        plan = queue.plan([entry(r) for r in waiting], None)
        self.waiting = len(plan.positions)
        by_name = {r.name: r for r in waiting}
        for name, newer in plan.superseded.items():
            req = by_name.pop(name, None)
            if req is not None:
                await self._finish_waiting(
                    req, Phase.SUPERSEDED, f'Superseded by the newer request "{newer}".'
                )
        for name, position in plan.positions.items():
            req = by_name.get(name)
            if req is None or name == starting:
                continue
            await self._mark_queued(req, position)
        return plan

    async def _mark_queued(self, req: Request, position: int) -> None:
        fresh_run = (
            req.terminal
            or int(req.status.get("observedGeneration") or 0) != req.generation
            or str(req.status.get("observedRerun") or "") != req.rerun
        )
        if not fresh_run and req.phase == Phase.QUEUED and req.status.get("queuePosition") == position:
            return
        changes: dict[str, object] = {"queuePosition": position}
        message = f"Waiting in the queue of namespace {req.namespace} at position {position}."
        retry_at = times.epoch(req.status.get("nextAttemptAt"))
        if not fresh_run and retry_at > self.ctx.wall():
            message = retry_message(
                str(req.status.get("failure") or "The last attempt failed"),
                int(req.status.get("attempt") or 1),
                progress.attempts_of(req),
                retry_at,
                position,
            )
        if fresh_run:
            changes.update(
                {
                    "observedGeneration": req.generation,
                    "observedRerun": req.rerun or None,
                    "attempt": None,
                    "nextAttemptAt": None,
                    "completedAt": None,
                }
            )
            await self.ctx.actions.write_status(req, changes, Phase.QUEUED, message, req.generation)
        elif req.phase != Phase.QUEUED:
            await self.ctx.actions.write_status(req, changes, Phase.QUEUED, message, req.generation)
        else:
            await self.ctx.actions.write_status(req, changes, None, message)

    async def _finish_waiting(self, req: Request, phase: Phase, message: str) -> None:
        await self.ctx.actions.write_status(
            req,
            {
                "queuePosition": None,
                "completedAt": times.rfc3339_ms(self.ctx.wall()),
                "observedGeneration": req.generation,
                "observedRerun": req.rerun or None,
                "reason": phase.value,
            },
            phase,
            message,
            req.generation,
        )
        self.ctx.recorder.record(req.body, phase.value, message)
        self._notify(req, phase)
        self._pruned_after_finish()

    async def _start_next(self, reqs: list[Request], hand_over: bool = False) -> bool:
        waiting = [r for r in reqs if is_waiting(r)]
        plan = queue.plan([entry(r) for r in waiting], None)
        if not plan.positions:
            await self._update_queue(reqs, None)
            return False
        now = self.ctx.wall()
        order = sorted(plan.positions, key=plan.positions.__getitem__)
        by_name = {r.name: r for r in waiting}
        chosen: Request | None = None
        for name in order:
            req = by_name.get(name)
            if req is None or not is_waiting(req):
                continue
            due = times.epoch(req.status.get("nextAttemptAt"))
            if due > now:
                self.wake_at(due)
                continue
            chosen = req
            break
        # The request about to start is not marked Queued first: that write would be undone at once.
        await self._update_queue(reqs, chosen.name if chosen else None)
        if chosen is None:
            return False
        if not await self.lock.acquire(chosen.name, chosen.uid, hand_over=hand_over):
            self._wait_for_lock()
            return True  # another pass marks it Queued
        await self._start_run(chosen)
        return True

    async def _start_run(self, req: Request) -> None:
        actions = self.ctx.actions
        req = await actions.set_finalizer(req, True)
        gates = req.spec.get("gates") or {}
        has_pre = (bool(gates.get("pre")) and not gates.get("skip")) or bool(gates.get("skip"))
        now = self.ctx.wall()
        new_run = req.terminal or int(req.status.get("observedGeneration") or 0) != req.generation
        changes: dict[str, object] = {
            "queuePosition": None,  # the active request has no queue position (POSITION stays empty)
            "observedGeneration": req.generation,
            "observedRerun": req.rerun or None,
            "attempt": 1 if new_run else int(req.status.get("attempt") or 0) + 1,
            "images": image_list(req.spec_images),
            "lockHolder": self.lock.holder.identity if self.lock.holder else None,
            "startedAt": times.rfc3339_ms(now),
            "completedAt": None,
            "nextAttemptAt": None,
            "patchedGeneration": None,
            "patchedAt": None,
            "verifyingSince": None,
            "failureDetectedAt": None,
            "failure": None,
            "rollback": None,
            "previousImages": None,
            "previousRevision": None,
            "revision": None,
            "gates": None,
        }
        phase = Phase.CHECKING if has_pre else Phase.DEPLOYING
        skipping = bool(gates.get("skip"))
        dep = self.ctx.cache.deployment(self.namespace, req.deployment)
        if phase == Phase.DEPLOYING and dep is not None:
            # What the Patch step records anyway, written with the start to save a status write.
            current = rollback.images_of((dep.get("spec") or {}).get("template") or {})
            changes["previousImages"] = image_list({c: current[c] for c in req.spec_images if c in current})
            changes["previousRevision"] = rollback.revision_of(dep) or None
            changes["deploymentUID"] = dep.get("metadata", {}).get("uid")
        req = await actions.write_status(
            req,
            changes,
            phase,
            f"Holds the lock of namespace {req.namespace}; "
            + (
                "gates skipped on request (emergency)."
                if skipping
                else "running pre-deploy gates."
                if has_pre
                else "deploying."
            ),
            req.generation,
        )
        if skipping:
            self.ctx.recorder.record(
                req.body,
                "GatesSkipped",
                "spec.gates.skip is set: no gate runs for this request.",
                warning=True,
            )
        self.ctx.recorder.record(req.body, "Started", f"Run started (attempt {changes['attempt']}).")
        self._notify(req, phase)

    # --- the active request -----------------------------------------------------------------------------

    def _world(self, req: Request) -> progress.World:
        cache = self.ctx.cache
        gates_spec = req.spec.get("gates") or {}
        gate_runs = self.ctx.gates
        skip_refused = (
            skip_refusal(bool(gates_spec.get("skip")), gate_runs.settings) if gate_runs is not None else None
        )
        problems = tuple(validate_gates([*(gates_spec.get("pre") or []), *(gates_spec.get("post") or [])]))
        pre = post = None
        if gate_runs is not None and not skip_refused and not problems:
            if req.phase == Phase.CHECKING and progress.has_gates(req, "pre"):
                pre = gate_runs.outcome(req, "pre", None, self.wake)
            elif req.phase == Phase.VERIFYING and progress.has_gates(req, "post"):
                post = gate_runs.outcome(req, "post", progress.verification_until(req), self.wake)
        over = tuple(semantic.over_limits(req.spec, self.limits))
        dep = cache.deployment(self.namespace, req.deployment)
        if dep is None:
            return progress.World(
                None,
                pre_gates=pre,
                post_gates=post,
                gate_problems=problems,
                skip_refused=skip_refused,
                over_limits=over,
            )
        dep_uid = dep.get("metadata", {}).get("uid", "")
        rses = cache.replicasets_of(self.namespace, dep_uid)
        new_rs = rollout.new_replicaset(dep, rses)
        rs_uids = {new_rs["metadata"]["uid"]} if new_rs else set()
        return progress.World(
            dep, rses, cache.pods_of(self.namespace, rs_uids), pre, post, problems, skip_refused, over
        )

    async def _holding(self) -> bool:
        """Whether this operator may write the Deployment now: it holds the lock and renewed it recently enough
        that nobody can have taken it over while this process was stopped; a stale lock is renewed first (and
        found lost when another operator took it)."""
        if not self.lock.held_by_me():
            return False
        return self.lock.fresh() or await self.lock.renew()

    async def _drive(self, req: Request) -> bool:
        now = self.ctx.wall()
        world = self._world(req)
        seen_rv = str((world.deployment or {}).get("metadata", {}).get("resourceVersion") or "")
        req = await self._track_availability(req, world.deployment, now)
        step = progress.next_step(req, world, now, self.thresholds)
        actions = self.ctx.actions
        log.debug("%s: %s -> %s", req.ref, req.phase.value, type(step).__name__)
        match step:
            case progress.Wait(until=until):
                if until is not None:
                    self.wake_at(until)
                await self._update_queue(self._requests(), None)
                return False
            case progress.StartDeploy():
                req = await actions.write_status(
                    req, {}, Phase.DEPLOYING, "Pre-deploy checks passed; deploying."
                )
                self._notify(req, Phase.DEPLOYING)
            case progress.Patch():
                if not req.has_finalizer:
                    req = await actions.set_finalizer(req, True)
                req = await actions.write_status(
                    req,
                    {
                        "previousImages": image_list(step.previous_images),
                        "previousRevision": step.previous_revision or None,
                        "deploymentUID": (self._world(req).deployment or {}).get("metadata", {}).get("uid"),
                        "availability": None,  # this run's degraded and down time start here
                    },
                )  # no write when the start already recorded the same
                if not await self._holding():
                    return False
                try:
                    result = await actions.patch_images(req, step, seen_rv)
                except errors.Conflict:  # the Deployment changed since it was judged: judge it again
                    await actions.refresh(kube.deployment_path(self.namespace, req.deployment))
                    self.wake()
                    return False
                req = await actions.write_status(
                    req,
                    {
                        "patchedGeneration": int(result["metadata"].get("generation") or 0),
                        "patchedAt": times.rfc3339_ms(self.ctx.wall()),
                    },
                    None,
                    "Patched the images; waiting for the rollout.",
                )
                self.ctx.recorder.record(
                    req.body, "Patched", "Patched " + ", ".join(f"{c}={i}" for c, i in step.images.items())
                )
            case progress.Adopt():
                req = await actions.write_status(
                    req,
                    {
                        "patchedGeneration": step.generation,
                        "patchedAt": times.rfc3339_ms(now),
                    },
                    None,
                    "Found this run's patch already applied; waiting for the rollout.",
                )
            case progress.Verify():
                req = await actions.write_status(
                    req,
                    {"verifyingSince": times.rfc3339_ms(now), "revision": self._revision(req)},
                    Phase.VERIFYING,
                    "Rolled out; verifying.",
                )
                self._notify(req, Phase.VERIFYING)
            case progress.StartRollback(message=message):
                req = await actions.write_status(
                    req,
                    {"failureDetectedAt": times.rfc3339_ms(now), "failure": message},
                    Phase.ROLLING_BACK,
                    f"Rolling back: {message}",
                )
                self._forget_gates(
                    req
                )  # only once written: a refused write decides again on the same outcome
                self.ctx.recorder.record(req.body, "RollingBack", message, warning=True)
                self._notify(req, Phase.ROLLING_BACK)
            case progress.Undo(plan=plan):
                if not await self._holding():
                    return False
                if plan.skipped:
                    generation = int(
                        (self._world(req).deployment or {}).get("metadata", {}).get("generation") or 0
                    )
                else:
                    # Guarded by the generation we judged: if the Deployment moved on (our own undo, sent just
                    # before a crash, may land after a restart read a stale view) the patch is refused, and the
                    # next pass sees the new state instead of undoing twice.
                    seen = int((self._world(req).deployment or {}).get("metadata", {}).get("generation") or 0)
                    guard = [{"op": "test", "path": "/metadata/generation", "value": seen}]
                    try:
                        result = await actions.undo(req, guard + plan.ops)
                    except errors.Invalid:
                        self.wake_at(self.ctx.wall() + 0.2)
                        return False
                    generation = int(result["metadata"].get("generation") or 0)
                req = await actions.write_status(
                    req,
                    {
                        "rollback": {
                            "targetRevision": plan.target_revision,
                            "patchedGeneration": generation,
                            "patchedAt": times.rfc3339_ms(self.ctx.wall()),
                        }
                    },
                    None,
                    f"Rolled back to revision {plan.target_revision}; waiting for it to be available.",
                )
            case progress.AdoptUndo(generation=generation):
                req = await actions.write_status(
                    req,
                    {
                        "rollback": {
                            "targetRevision": req.status.get("previousRevision"),
                            "patchedGeneration": generation,
                            "patchedAt": times.rfc3339_ms(now),
                        }
                    },
                    None,
                    "Found this run's rollback already applied; waiting for it to be available.",
                )
            case progress.Requeue(message=message, at=at):
                waiting = retry_message(message, step.attempt, step.attempts, at)
                req = await actions.write_status(
                    req,
                    {"nextAttemptAt": times.rfc3339_ms(at), "queuePosition": None, "failure": message},
                    Phase.QUEUED,
                    waiting,
                )
                self._forget_gates(req)
                self.ctx.recorder.record(
                    req.body,
                    "RetryScheduled",
                    f"{waiting.removesuffix('.')} (in {format_seconds(at - now)}).",
                    warning=True,
                )
                req = await actions.set_finalizer(req, False)
                await self.lock.release()
                self.wake_at(at)
            case progress.Finish(phase=phase, message=message, reason=reason):
                await self._finish(req, phase, message, reason)
        return True

    async def _track_availability(self, req: Request, dep: dict[str, object] | None, now: float) -> Request:
        """Record in the status when the workload enters or leaves a degraded or down stretch while this run has
        changed it (decide/availability.py); no write while nothing changes."""
        if not req.status.get("patchedGeneration") or req.phase not in ACTIVE:
            return req
        state = availability.track(req.status.get("availability"), dep, now)
        return req if state is None else await self.ctx.actions.write_status(req, {"availability": state})

    def _revision(self, req: Request) -> int | None:
        world = self._world(req)
        rs = rollout.new_replicaset(world.deployment or {}, world.replicasets) if world.deployment else None
        if rs is None or REVISION_ANNOTATION not in (rs.get("metadata", {}).get("annotations") or {}):
            return None
        return rollback.parse_revision(rs)

    async def _finish(self, req: Request, phase: Phase, message: str, reason: str) -> None:
        actions = self.ctx.actions
        changes: dict[str, object] = {
            "completedAt": times.rfc3339_ms(self.ctx.wall()),
            "queuePosition": None,
            "nextAttemptAt": None,
            "reason": reason,
        }
        if req.status.get("patchedGeneration"):
            changes["availability"] = availability.close(req.status.get("availability"), self.ctx.wall())
        if phase == Phase.SUCCEEDED:
            changes["revision"] = self._revision(req)
        req = await actions.write_status(req, changes, phase, message)
        self._forget_gates(req)
        self.ctx.recorder.record(req.body, reason, message, warning=phase != Phase.SUCCEEDED)
        self._notify(req, phase)
        await actions.set_finalizer(req, False)
        self._pruned_after_finish()
        if not any(is_waiting(r) for r in self._requests() if r.uid != req.uid):
            await self.lock.release()  # else the next pass hands the lock to the next request in one write

    def _forget_gates(self, req: Request) -> None:
        """Stop the request's gate stages, once the status that ends them is written.

        Not before: a status write decided on a stale copy is refused (409) and the next pass decides again, which
        needs the stage's outcome still there (forgotten, a post stage would start afresh after its window and fail).
        """
        if self.ctx.gates is not None:
            self.ctx.gates.forget(req.uid)

    def _notify(self, req: Request, phase: Phase) -> None:
        for observer in self.ctx.observers:
            try:
                observer(self.namespace, req, phase)
            except Exception:
                log.exception("observer failed")


class Workers:
    """The namespace workers of this process, created on the first event of a namespace."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._workers: dict[str, NamespaceWorker] = {}

    def wake(self, namespace: str) -> None:
        if not namespace or not self.ctx.settings.serves(namespace):
            return
        worker = self._workers.get(namespace)
        if worker is None:
            worker = self._workers[namespace] = NamespaceWorker(namespace, self.ctx)
            worker.start()
        worker.wake()

    def has_work(self, namespace: str) -> bool:
        """Whether events about Deployments and Pods of this namespace matter now (a request is active there)."""
        return namespace in self._workers and any(
            r.phase in ACTIVE for r in self.ctx.cache.requests(namespace)
        )

    async def stop(self) -> None:
        await asyncio.gather(*(w.stop() for w in self._workers.values()))

    def locks_held(self) -> int:
        return sum(1 for w in list(self._workers.values()) if w.lock.held_by_me())

    def queue_depth(self) -> int:
        return sum(w.waiting for w in list(self._workers.values()))

    def takeovers(self) -> int:
        return sum(w.lock.takeovers for w in list(self._workers.values()))
