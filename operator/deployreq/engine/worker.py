"""One worker per namespace: it only sequences. Each pass reads the world (the namespace's requests, its Lease, the
active request's Deployment and gates), asks :mod:`deployreq.decide` what to do, and carries it out.

Workers are woken by watch events (any change to a request, Deployment, ReplicaSet or Pod of the namespace) and by
their own timers (deadlines, lease renewal, retry backoff); they never poll on a fixed interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from deployreq import errors
from deployreq.api.approval import ApprovalStatus
from deployreq.api.phases import ACTIVE, Phase
from deployreq.api.request import Request
from deployreq.cluster.lease import LeaseLock
from deployreq.decide import (
    admit,
    approval,
    availability,
    namespace,
    progress,
    prune,
    rollout,
    semantic,
    steps,
)
from deployreq.decide.retry import retry_message
from deployreq.engine import world
from deployreq.engine.context import Context
from deployreq.engine.drive import Driver
from deployreq.engine.guard import Guard
from deployreq.engine.release import Releases

log = logging.getLogger(__name__)

MAX_STEPS_PER_PASS = 20

__all__ = ["MAX_STEPS_PER_PASS", "Context", "NamespaceWorker", "Workers", "retry_message"]


class NamespaceWorker:
    def __init__(self, name: str, ctx: Context) -> None:
        self.namespace = name
        self.ctx = ctx
        settings = ctx.settings
        self.lock = LeaseLock(
            ctx.client,
            name,
            settings.identity,
            settings.lease_duration_seconds,
            clock=ctx.monotonic,
            wall=ctx.wall,
        )
        self.lock.on_takeover = ctx.on_takeover
        self.lock.min_renew_interval = settings.renew_interval_seconds
        self._wake = asyncio.Event()
        self._deadline: float | None = None  # monotonic
        self.task: asyncio.Task[None] | None = None
        self.thresholds = rollout.Thresholds.from_settings(settings)
        self.limits = semantic.Limits(settings.max_verification_seconds, settings.max_rollout_timeout_seconds)
        self.guard = Guard(ctx, self.wake, self.wake_at)
        self.driver = Driver(
            ctx,
            self.lock,
            self.wake,
            self.wake_at,
            on_finished=self._prune_soon,
            release_slots=self.guard.release,
        )
        self.releases = Releases(ctx, self.driver, self.limits, self.thresholds)
        self.waiting = 0  # requests waiting in this namespace's queue, for the queue-depth gauge
        self.awaiting_approval: list[float] = []  # since when each request held for an approval waits (epoch)
        # When finished requests are pruned next (epoch seconds): at once after a start, then as they age.
        self._prune_at: float | None = 0.0

    def wake(self) -> None:
        self._wake.set()

    def wake_at(self, epoch: float) -> None:
        at = self.ctx.monotonic() + max(0.0, epoch - self.ctx.wall())
        if self._deadline is None or at < self._deadline:
            self._deadline = at

    @property
    def deadline(self) -> float | None:
        """When the worker wakes on its own (monotonic), None when only an event wakes it."""
        return self._deadline

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
            timeout = None if self._deadline is None else max(0.0, self._deadline - self.ctx.monotonic())
            if timeout is None or timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            self._deadline = None
            backoff = await self.attempt(backoff)

    async def attempt(self, backoff: float) -> float:
        """One pass, its failure turned into a retry: returns the backoff for the next failure."""
        try:
            await self.reconcile()
            return 0.5
        except errors.Conflict as exc:
            # A write decided on a stale copy was refused and the fresh copy read: decide again at once.
            log.info("namespace %s: %s; deciding again on the fresh copy", self.namespace, exc)
            self.wake_at(self.ctx.wall() + 0.05)
            return backoff
        except errors.ApiError as exc:
            log.warning("namespace %s: API error, retrying in %.1fs: %s", self.namespace, backoff, exc)
            self.wake_at(self.ctx.wall() + backoff)
            return min(backoff * 2, 10.0)
        except Exception:
            log.exception("namespace %s: unexpected error, retrying in %.1fs", self.namespace, backoff)
            self.wake_at(self.ctx.wall() + backoff)
            return min(backoff * 2, 30.0)

    # --- one pass ---------------------------------------------------------------------------------------

    async def reconcile(self) -> None:
        if self._prune_at is not None and self.ctx.wall() >= self._prune_at:
            await self._prune()
        if self._prune_at is not None:
            self.wake_at(self._prune_at)  # every pass sets its timers afresh
        if not self.lock.known and not any(r.active or namespace.is_waiting(r) for r in self._requests()):
            return  # nothing to run here: do not even read the Lease
        await self.lock.ensure_known()
        if self.lock.held_by_me() and self.lock.due_for_renewal(self.ctx.settings.renew_interval_seconds):
            await self.lock.renew()
        for _ in range(MAX_STEPS_PER_PASS):
            if not await self._step():
                break
        if self.lock.held_by_me():
            self.wake_at(self.ctx.wall() + self.ctx.settings.renew_interval_seconds)

    def _requests(self) -> list[Request]:
        return self.ctx.cache.requests(self.namespace)

    async def _prune(self) -> None:
        """Delete the finished requests over the history limits (decide/prune.py); again when the next ages out."""
        settings = self.ctx.settings
        decision = prune.plan(
            self._requests(), self.ctx.wall(), settings.finished_ttl_seconds, settings.finished_history_limit
        )
        self._prune_at = decision.next_at
        for req in decision.delete:
            await self.ctx.actions.delete_finished(req)

    def _prune_soon(self) -> None:
        """A request ended: the history may be over its limit now."""
        self._prune_at = self.ctx.wall()
        self.wake()

    async def _step(self) -> bool:
        """One decision round; True when it changed something and another round may follow at once."""
        reqs = self._requests()
        holder = self.lock.holder
        mine = holder is not None and holder.operator == self.ctx.settings.identity
        match namespace.turn(reqs, holder.uid if holder else None, mine):
            case namespace.Drive(request=current):
                if not await self.lock.acquire(current.name, current.uid):
                    self._wait_for_lock()
                    await self._upkeep(reqs, None)
                    return False
                self.guard.clear()
                await self.guard.keep(current)
                return await self._drive(current)
            case namespace.Release(stale=stale):
                if stale is not None:
                    await self.ctx.actions.set_finalizer(stale, False)
                # The request we hold the lock for is over: the next one takes it over in one write, else release.
                if not await self._start_next(reqs, hand_over=True):
                    await self.lock.release()
                return True
            case _:
                return await self._start_next(reqs)

    def _wait_for_lock(self) -> None:
        remaining = self.lock.recheck_at() - self.ctx.monotonic()
        self.wake_at(self.ctx.wall() + max(0.05, remaining + 0.05))

    def _gate(self, reqs: list[Request]) -> approval.Gate:
        """Which waiting requests the namespace's DeployPolicies hold for an approval (decide/approval.py)."""
        cache = self.ctx.cache
        policies = cache.policies_for(self.namespace)
        if not any(p.spec.approval.required for p in policies):
            return approval.Gate()  # nothing to read: no policy here asks for approvals
        return approval.gate(reqs, policies, cache.approvals(self.namespace), self.ctx.wall())

    async def _upkeep(
        self, reqs: list[Request], starting: str | None, gate: approval.Gate | None = None
    ) -> None:
        """The queue's writes: superseded requests ended, waiting ones shown their position (or the approval they
        wait for)."""
        gate = gate if gate is not None else self._gate(reqs)
        if gate.ended:  # rejections end first; the queue's writes follow on the next pass
            await self._end_rejected(gate)
            self.wake()
            return
        if await self._end_beyond_limits(reqs, starting):  # likewise requests no wait can admit
            self.wake()
            return
        now = self.ctx.wall()
        upkeep = namespace.upkeep(reqs, starting, now, gate.held)
        self.waiting = upkeep.waiting
        self.awaiting_approval = approval.waiting_since(reqs, gate, now)
        actions = self.ctx.actions
        for old, change, note in upkeep.superseded:
            req = await actions.write_status(old, change)
            self.driver.record(req, note)
            self.driver.notify(req, Phase.SUPERSEDED)
            self._prune_soon()
        for req, change in upkeep.queued:
            written = await actions.write_status(req, change)
            if change.phase == Phase.AWAITING_APPROVAL:
                self.driver.record(written, steps.Note("AwaitingApproval", change.message or ""))
                self.driver.notify(written, Phase.AWAITING_APPROVAL)
            if req.name in gate.notes:  # the requester's own approval, which does not count
                self.driver.record(written, gate.notes[req.name])

    async def _end_rejected(self, gate: approval.Gate) -> None:
        for old, change, note in gate.ended:
            req = await self.ctx.actions.write_status(old, change)
            self.driver.record(req, note)
            self.driver.notify(req, Phase.CANCELLED)
            self._prune_soon()

    async def _end_beyond_limits(self, reqs: list[Request], starting: str | None) -> bool:
        """End Failed, wherever they stand in the queue, the waiting requests beyond a policy's limits (the one
        about to start is judged by the guard); True when it ended any."""
        waiting = [r for r in reqs if namespace.is_waiting(r) and r.name != starting]
        refused = admit.refusals(waiting, self.ctx.cache.policies_for(self.namespace))
        for req, refuse in refused:
            failed = await self.guard.refuse(req, refuse)
            self.driver.notify(failed, Phase.FAILED)
        if refused:
            self._prune_soon()
        return bool(refused)

    async def _start_next(self, reqs: list[Request], hand_over: bool = False) -> bool:
        gate = self._gate(reqs)
        if gate.ended:  # rejections end first; the next round decides on the requests as they are then
            await self._end_rejected(gate)
            return True
        due = namespace.next_due(reqs, self.ctx.wall(), gate.held)
        if due.wake_at is not None:
            self.wake_at(due.wake_at)
        chosen = due.request
        # The request about to start is not marked Queued first: that write would be undone at once.
        await self._upkeep(reqs, chosen.name if chosen else None, gate)
        if chosen is None:
            self.guard.clear()
            return False
        verdict = await self.guard.check(chosen)  # decide/admit.py: may it start (windows, freezes, budgets)?
        if isinstance(verdict, admit.Refuse):
            failed = await self.guard.refuse(chosen, verdict)
            self.driver.notify(failed, Phase.FAILED)
            self._prune_soon()
            return True
        if isinstance(verdict, admit.Hold):
            await self.guard.hold(chosen, verdict)
            return False
        self.guard.clear()
        locked = await self.lock.acquire(chosen.name, chosen.uid, hand_over=hand_over)
        if not locked or not await self.guard.fresh(chosen):  # the slots fenced as the lock is
            await self.guard.release(chosen)
            self._wait_for_lock()
            return True  # another pass marks it Queued
        await self._start_run(chosen, gate.approved.get(chosen.name))
        return True

    async def _start_run(self, req: Request, approved: ApprovalStatus | None) -> None:
        actions = self.ctx.actions
        req = await actions.set_finalizer(req, True)
        dep = self.ctx.cache.deployment(self.namespace, req.deployment)
        holder = self.lock.holder.identity if self.lock.holder else None
        start = namespace.start(req, dep, holder, self.ctx.wall())
        req = await actions.write_status(req, approval.starting(start.status, approved))
        for note in (approval.approved_note(approved),) if approved else ():
            self.driver.record(req, note)
        for note in start.notes:
            self.driver.record(req, note)
        self.driver.notify(req, start.phase)

    async def _drive(self, req: Request) -> bool:
        if req.is_release:  # spec.workloads: engine/release.py
            changed = await self.releases.drive(req, self.wake)
            if not changed:
                await self._upkeep(self._requests(), None)
            return changed
        now = self.ctx.wall()
        seen = world.observe(self.ctx, req, self.limits, self.wake)
        tracked = availability.change(req, seen.deployment, now)  # a degraded or down stretch began or ended
        if tracked is not None:
            req = await self.ctx.actions.write_status(req, tracked)
        step = progress.next_step(req, seen, now, self.thresholds)
        log.debug("%s: %s -> %s", req.ref, req.phase.value, type(step).__name__)
        if isinstance(step, steps.Wait):
            await self.driver.carry(req, step, seen, now)
            await self._upkeep(self._requests(), None)
            return False
        return await self.driver.carry(req, step, seen, now)


class Workers:
    """The namespace workers of this process, created on the first event of a namespace."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._workers: dict[str, NamespaceWorker] = {}

    def wake(self, name: str) -> None:
        if not name or not self.ctx.settings.serves(name):
            return
        worker = self._workers.get(name)
        if worker is None:
            worker = self._workers[name] = NamespaceWorker(name, self.ctx)
            worker.start()
        worker.wake()

    def wake_all(self) -> None:
        """A DeployPolicy or a Namespace's labels changed: every worker decides again."""
        for worker in list(self._workers.values()):
            worker.wake()

    def has_work(self, name: str) -> bool:
        """Whether events about Deployments and Pods of this namespace matter now (a request is active there)."""
        return name in self._workers and any(r.phase in ACTIVE for r in self.ctx.cache.requests(name))

    async def stop(self) -> None:
        await asyncio.gather(*(w.stop() for w in self._workers.values()))

    def locks_held(self) -> int:
        return sum(1 for w in list(self._workers.values()) if w.lock.held_by_me())

    def queue_depth(self) -> int:
        return sum(w.waiting for w in list(self._workers.values()))

    def awaiting_approval(self) -> list[float]:
        """Since when each request held for an approval waits (epoch seconds), in every namespace."""
        return [since for w in list(self._workers.values()) for since in w.awaiting_approval]

    def held_by_policy(self) -> dict[str, list[float]]:
        """Since when each request a window, a freeze or a budget holds back waits (epoch), by metric reason."""
        held: dict[str, list[float]] = {reason: [] for reason in admit.METRIC_REASONS.values()}
        for worker in list(self._workers.values()):
            if worker.guard.holding is not None:
                held[admit.METRIC_REASONS[worker.guard.holding.reason]].append(worker.guard.holding_since)
        return held

    def takeovers(self) -> int:
        return sum(w.lock.takeovers for w in list(self._workers.values()))
