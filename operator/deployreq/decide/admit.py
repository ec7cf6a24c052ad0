"""May this request start now? The one place the engine asks, before it takes a budget slot or the namespace lock.

Fed by what the worker reads (the request, the DeployPolicies governing its namespace, the time), it answers:
- :class:`Refuse`: the request asks beyond a policy's limits; it ends ``Failed`` at once, nothing changed;
- :class:`Hold`: a policy holds it back (a freeze, outside the windows; a full budget is judged by the engine after
  :class:`Go`, from the slot Leases, and shown the same way); it stays ``Queued`` with the policy and the reason, and
  the worker wakes at ``until``;
- :class:`Go`: it may start once it holds a slot of each budget in ``budgets``.

Several policies: the strictest wins (decide/policy.py). Further waits (an approval) belong here too, as a Hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from deployreq.api.change import Fields, StatusChange
from deployreq.api.phases import Phase
from deployreq.api.policy import DeployPolicy, RequestLimits
from deployreq.api.request import Request
from deployreq.api.times import rfc3339_ms
from deployreq.decide import policy as rules
from deployreq.decide.policy import Budget
from deployreq.decide.steps import Note

NO_OPENING_RECHECK = 6 * 3600.0
"""With no opening within a week the worker looks again after this long (a policy change wakes it sooner)."""

FROZEN = "Frozen"
OUTSIDE_WINDOW = "OutsideWindow"
BUDGET_FULL = "BudgetFull"
REASONS = (FROZEN, OUTSIDE_WINDOW, BUDGET_FULL)
"""Why a policy holds a request (the Events' reasons are ``PolicyHold<reason>``)."""
METRIC_REASONS = {FROZEN: "freeze", OUTSIDE_WINDOW: "window", BUDGET_FULL: "budget"}
"""The ``reason`` label of the hold metrics for each (beside ``approval``): a closed set."""
REFUSED = "PolicyLimitExceeded"
EMPTY_LIMITS = RequestLimits()


@dataclass(frozen=True)
class Go:
    """It may start, holding a slot of each of these budgets (policy, maxConcurrent) first."""

    budgets: tuple[Budget, ...] = ()


@dataclass(frozen=True)
class Hold:
    """A policy holds it back: ``reason`` (one of :data:`REASONS`), the message saying why and when it may start,
    and when to decide again (epoch seconds; None when only a change wakes it)."""

    policy: str
    reason: str
    message: str
    until: float | None


@dataclass(frozen=True)
class Refuse:
    """It asks beyond a policy's limits: it ends Failed with ``message`` (naming the policy and what to fix)."""

    policy: str
    message: str


Admission = Go | Hold | Refuse


def admit(req: Request, policies: Sequence[DeployPolicy], now: float) -> Admission:
    """Whether ``req`` may start at ``now`` (epoch seconds) under ``policies`` (those governing its namespace)."""
    if not policies:
        return Go()
    spec = req.spec
    refuse = beyond_limits(req, policies)
    if refuse is not None:
        return refuse
    at = rules.parse_instant(now)
    rule = rules.may_start(policies, at, spec.priority)
    if not rule.allowed:
        held = rules.held_by(policies, at, spec.priority) or (policies[0].name, OUTSIDE_WINDOW)
        until = rule.next_start.timestamp() if rule.next_start else now + NO_OPENING_RECHECK
        return Hold(held[0], held[1], rule.message, until)
    return Go(tuple(rules.budgets(policies)))


def beyond_limits(req: Request, policies: Sequence[DeployPolicy]) -> Refuse | None:
    """The first policy whose limits ``req`` asks beyond (None when it keeps within all of them)."""
    spec = req.spec
    for one in policies:
        violation = rules.limit_violation(
            [one], spec.priority, spec.verification.duration_seconds, spec.rollout.timeout_seconds
        )
        if violation is not None:
            return Refuse(one.name, violation)
    return None


def refusals(waiting: Sequence[Request], policies: Sequence[DeployPolicy]) -> list[tuple[Request, Refuse]]:
    """The waiting requests that ask beyond a policy's limits, wherever they stand in the queue: they end Failed at
    once rather than when their turn comes (a limit is no wait that time cures)."""
    if not any(one.spec.limits != EMPTY_LIMITS for one in policies):
        return []
    found = ((req, beyond_limits(req, policies)) for req in waiting)
    return [(req, refuse) for req, refuse in found if refuse is not None]


def budget_full(policy: str, size: int, holders: Sequence[str], until: float) -> Hold:
    """The Hold of a request waiting for a slot of ``policy``'s budget."""
    running = ", ".join(h.rsplit("@", 1)[0] for h in holders) or "none seen"
    message = f"waiting for a slot of policy {policy}'s budget (maxConcurrent {size}; running: {running})"
    return Hold(policy, BUDGET_FULL, message, until)


def held(req: Request, hold: Hold, position: int) -> StatusChange | None:
    """The waiting request's status while ``hold`` holds it (None when it shows that already)."""
    message = (
        f"Held by policy {hold.policy}: {hold.message}. "
        f"Position {position} in the queue of namespace {req.namespace}."
    )
    status = req.status
    if req.phase == Phase.QUEUED and status.held_by == hold.policy and status.message == message:
        return None
    fields = Fields(queue_position=position, held_by=hold.policy)
    return StatusChange(fields, None if req.phase == Phase.QUEUED else Phase.QUEUED, message, req.generation)


def hold_note(hold: Hold) -> Note:
    """The Event recorded when a policy starts holding a request (or holds it for another reason)."""
    return Note(f"PolicyHold{hold.reason}", f"Held by policy {hold.policy}: {hold.message}.")


def refused(req: Request, refuse: Refuse, now: float) -> tuple[StatusChange, Note]:
    """The Failed status of a request beyond a policy's limits, and its Event."""
    message = f"Refused by policy {refuse.policy}: {refuse.message}. Nothing was changed."
    fields = Fields(
        queue_position=None,
        held_by=None,
        completed_at=rfc3339_ms(now),
        observed_generation=req.generation,
        observed_rerun=req.rerun or None,
        reason=REFUSED,
    )
    return StatusChange(fields, Phase.FAILED, message, req.generation), Note(REFUSED, message, warning=True)
