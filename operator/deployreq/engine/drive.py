"""Carrying out the active request's step: the writes it names, in order, and nothing decided here.

A status write names the resourceVersion it was decided on; a 409 reads the fresh copy and raises, and the worker
decides again. The image patch names the Deployment's resourceVersion as judged. Before a Deployment write the lock
must be held and fresh (renewed first when it is not). Gate stages are forgotten only after the status that ends
them is written: a refused write decides again on the same outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from deployreq import errors
from deployreq.api.phases import Phase
from deployreq.api.request import Request
from deployreq.cluster import kube
from deployreq.cluster.lease import LeaseLock
from deployreq.decide import steps
from deployreq.decide.namespace import is_waiting
from deployreq.engine.context import Context

log = logging.getLogger(__name__)


def generation_of(obj: dict[str, Any] | None) -> int:
    return int((obj or {}).get("metadata", {}).get("generation") or 0)


class Driver:
    """Carries out one namespace's steps; owned by its worker."""

    def __init__(
        self,
        ctx: Context,
        lock: LeaseLock,
        wake: Callable[[], None],
        wake_at: Callable[[float], None],
        on_finished: Callable[[], None] = lambda: None,
        release_slots: Callable[[Request], Awaitable[None]] | None = None,
    ) -> None:
        self.ctx = ctx
        self.lock = lock
        self.wake = wake
        self.wake_at = wake_at
        self.on_finished = on_finished
        """Told when a request ended (its history may be pruned)."""
        self.release_slots = release_slots
        """Frees the budget slots of a request that ended or was requeued (engine/guard.py)."""

    async def carry(self, req: Request, step: steps.Step, world: steps.World, now: float) -> bool:
        """Carry ``step`` out; True when it changed something and the next decision may follow at once."""
        match step:
            case steps.Wait(until=until):
                if until is not None:
                    self.wake_at(until)
                return False
            case steps.Patch():
                return await self._patch(req, step, world)
            case steps.Undo():
                return await self._undo(req, step, world)
            case steps.Requeue():
                await self._requeue(req, step, now)
            case steps.Finish():
                await self._finish(req, step)
            case _:
                await self._record(req, step)
        return True

    async def _record(self, req: Request, step: steps.Recorded) -> None:
        req = await self.ctx.actions.write_status(req, step.status)
        if isinstance(step, steps.StartRollback):
            self.forget_gates(req)
            self.record(req, step.note)
        if step.status.phase is not None:
            self.notify(req, step.status.phase)

    async def holding(self) -> bool:
        """Whether this operator may write the Deployment now: it holds the lock and renewed it recently enough
        that nobody can have taken it over while this process was stopped; a stale lock is renewed first (and
        found lost when another operator took it)."""
        if not self.lock.held_by_me():
            return False
        return self.lock.fresh() or await self.lock.renew()

    async def _patch(self, req: Request, step: steps.Patch, world: steps.World) -> bool:
        actions = self.ctx.actions
        if not req.has_finalizer:
            req = await actions.set_finalizer(req, True)
        req = await actions.write_status(req, step.before)  # nothing when the start recorded the same
        if not await self.holding():
            return False
        seen_rv = str((world.deployment or {}).get("metadata", {}).get("resourceVersion") or "")
        try:
            result = await actions.patch_images(req, step, seen_rv)
        except errors.Conflict:  # the Deployment changed since it was judged: judge it again
            await actions.refresh(kube.deployment_path(req.namespace, req.deployment))
            self.wake()
            return False
        req = await actions.write_status(req, step.recorded(generation_of(result), self.ctx.wall()))
        self.record(req, step.note)
        return True

    async def _undo(self, req: Request, step: steps.Undo, world: steps.World) -> bool:
        if not await self.holding():
            return False
        seen = generation_of(world.deployment)
        if step.plan.skipped:
            generation = seen
        else:
            # Guarded by the generation we judged: if the Deployment moved on (our own undo, sent just before a
            # crash, may land after a restart read a stale view) the patch is refused, and the next pass sees the
            # new state instead of undoing twice.
            guard = [{"op": "test", "path": "/metadata/generation", "value": seen}]
            try:
                result = await self.ctx.actions.undo(req, guard + step.plan.ops)
            except errors.Invalid:
                self.wake_at(self.ctx.wall() + 0.2)
                return False
            generation = generation_of(result)
        await self.ctx.actions.write_status(req, step.recorded(generation, self.ctx.wall()))
        return True

    async def _requeue(self, req: Request, step: steps.Requeue, now: float) -> None:
        req = await self.ctx.actions.write_status(req, step.status)
        self.forget_gates(req)
        self.record(req, step.note(now))
        await self.ctx.actions.set_finalizer(req, False)
        if self.release_slots is not None:
            await self.release_slots(req)
        await self.lock.release()
        self.wake_at(step.at)

    async def _finish(self, req: Request, step: steps.Finish) -> None:
        req = await self.ctx.actions.write_status(req, step.status)
        self.forget_gates(req)
        self.record(req, step.note)
        self.notify(req, step.phase)
        await self.ctx.actions.set_finalizer(req, False)
        if self.release_slots is not None:
            await self.release_slots(req)
        self.on_finished()
        others = self.ctx.cache.requests(req.namespace)
        if not any(is_waiting(r) for r in others if r.uid != req.uid):
            await self.lock.release()  # else the next pass hands the lock to the next request in one write

    def forget_gates(self, req: Request) -> None:
        """Stop the request's gate stages, once the status that ends them is written.

        Not before: a status write decided on a stale copy is refused (409) and the next pass decides again, which
        needs the stage's outcome still there (forgotten, a post stage would start afresh after its window and fail).
        """
        if self.ctx.gates is not None:
            self.ctx.gates.forget(req.uid)

    def record(self, req: Request, note: steps.Note) -> None:
        self.ctx.recorder.record(req.body, note.reason, note.message, warning=note.warning)

    def notify(self, req: Request, phase: Phase) -> None:
        for observer in self.ctx.observers:
            try:
                observer(req.namespace, req, phase)
            except Exception:
                log.exception("observer failed")
