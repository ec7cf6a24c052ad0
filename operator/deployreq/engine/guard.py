"""Carrying out what DeployPolicies say before a request starts (issue 19): ``decide/admit.admit`` decides, this
module writes. A refused request ends Failed; a held one stays Queued showing the policy and why, and its worker
wakes when the hold may end (a window opens, a freeze ends, a slot is released here or may lapse elsewhere); a
request allowed to start first takes a slot of each budget (slot Leases, cluster/budget.py), kept while it runs and
freed when it ends."""

from __future__ import annotations

import logging
from collections.abc import Callable

from deployreq import errors
from deployreq.api.phases import ACTIVE
from deployreq.api.request import Request
from deployreq.decide import admit, budget
from deployreq.decide import policy as rules
from deployreq.engine.context import Context

log = logging.getLogger(__name__)


class Guard:
    """One namespace worker's side of the policies: admission, holds, and its request's budget slots."""

    def __init__(self, ctx: Context, wake: Callable[[], None], wake_at: Callable[[float], None]) -> None:
        self.ctx = ctx
        self.wake = wake
        self.wake_at = wake_at
        self.holding: admit.Hold | None = None
        """The hold on this namespace's next request, for the metrics (None when none)."""
        self.holding_since = 0.0
        """Since when (epoch) that hold has held it."""
        self._renewed: dict[str, float] = {}

    def _me(self, req: Request) -> str:
        return f"{req.namespace}/{req.name}@{self.ctx.settings.identity}"

    def _active(self) -> frozenset[str]:
        cache = self.ctx.cache
        return frozenset(
            f"{r.namespace}/{r.name}"
            for ns in cache.request_namespaces()
            for r in cache.requests(ns)
            if r.phase in ACTIVE
        )

    async def check(self, req: Request) -> admit.Admission:
        """Whether ``req`` may start now; on Go it holds a slot of each budget."""
        verdict = admit.admit(req, self.ctx.cache.policies_for(req.namespace), self.ctx.wall())
        if isinstance(verdict, admit.Go) and verdict.budgets and self.ctx.budgets is not None:
            return await self._claim(req, verdict)
        return verdict

    async def _claim(self, req: Request, go: admit.Go) -> admit.Admission:
        budgets, me, active = self.ctx.budgets, self._me(req), self._active()
        assert budgets is not None
        for policy, size in go.budgets:
            try:
                claimed = await budgets.claim(policy, size, me, active)
            except errors.NotFound as exc:  # the operator's namespace is missing: say so, try again later
                await budgets.release(me)
                problem = f"its slot Leases cannot be written in namespace {budgets.namespace} ({exc.reason})"
                return admit.Hold(policy, admit.BUDGET_FULL, problem, self.ctx.wall() + 30.0)
            if isinstance(claimed, budget.Full):
                await budgets.release(me)
                budgets.wait_for(policy, self.wake)
                until = self.ctx.wall() + max(0.05, claimed.until - self.ctx.monotonic()) + 0.05
                return admit.budget_full(policy, size, claimed.holders, until)
            if claimed is None:
                await budgets.release(me)
                raise errors.Conflict(
                    409, "Conflict", f"a slot of policy {policy}'s budget was taken meanwhile"
                )
        self._renewed[me] = self.ctx.monotonic()
        return go

    async def hold(self, req: Request, hold: admit.Hold) -> None:
        """Show the hold on the waiting request (and an Event when it starts or changes), then sleep until it may end."""
        previous, self.holding = self.holding, hold
        fresh = previous is None or (previous.policy, previous.reason) != (hold.policy, hold.reason)
        if fresh:
            self.holding_since = self.ctx.wall()
        change = admit.held(req, hold, req.status.queue_position or 1)
        if change is not None:
            written = await self.ctx.actions.write_status(req, change)
            if fresh:
                note = admit.hold_note(hold)
                self.ctx.recorder.record(written.body, note.reason, note.message)
                if self.ctx.on_hold is not None:
                    self.ctx.on_hold(hold.policy, admit.METRIC_REASONS[hold.reason])
        if hold.until is not None:
            self.wake_at(hold.until)

    async def refuse(self, req: Request, refuse: admit.Refuse) -> Request:
        change, note = admit.refused(req, refuse, self.ctx.wall())
        written = await self.ctx.actions.write_status(req, change)
        self.ctx.recorder.record(written.body, note.reason, note.message, warning=True)
        return written

    async def keep(self, req: Request) -> None:
        """While ``req`` runs: hold its slots (taken again after a restart) and renew them with the lock."""
        budgets = self.ctx.budgets
        if budgets is None:
            return
        me = self._me(req)
        if not budgets.holds(me):
            for policy, size in rules.budgets(self.ctx.cache.policies_for(req.namespace)):
                claimed = await budgets.claim(
                    policy, size, me, self._active(), adopt=True
                )  # the lock is held
                if not isinstance(claimed, budget.Claim):
                    log.warning(
                        "%s runs without a slot of policy %s's budget (taken while it ran)", me, policy
                    )
            self._renewed[me] = self.ctx.monotonic()
            return
        if self.ctx.monotonic() - self._renewed.get(me, 0.0) >= self.ctx.settings.renew_interval_seconds:
            await budgets.renew(me)
            self._renewed[me] = self.ctx.monotonic()

    async def fresh(self, req: Request) -> bool:
        """Just before ``req`` starts: its slots are still its own. Slots taken more than two thirds of a lease ago
        (this process was stopped meanwhile) are renewed first, and a slot lost to another request stops the start,
        as the namespace lock fences a Deployment write."""
        budgets, me = self.ctx.budgets, self._me(req)
        if budgets is None or not budgets.holds(me):
            return True
        fraction = self.ctx.settings.lease_duration_seconds * 2 / 3
        if self.ctx.monotonic() - self._renewed.get(me, 0.0) < fraction:
            return True
        kept = await budgets.renew(me)
        self._renewed[me] = self.ctx.monotonic()
        return kept

    async def release(self, req: Request) -> None:
        """Free the slots ``req`` holds (it ended, was requeued, or could not take the namespace lock)."""
        self._renewed.pop(self._me(req), None)
        if self.ctx.budgets is not None:
            await self.ctx.budgets.release(self._me(req))

    def clear(self) -> None:
        self.holding = None
