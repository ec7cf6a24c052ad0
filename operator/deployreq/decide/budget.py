"""A DeployPolicy's ``maxConcurrent`` budget as slots, each a Lease decided as the namespace lock is (issue 19).

A budget of N is N slot Leases named ``<prefix>-<policy>-<index>``. An active request holds one slot of every
budget that governs it, renewed like the namespace lock; it frees it when it ends, and a slot whose holder stopped
renewing (its operator died) is taken over after one lease duration, exactly as :func:`deployreq.decide.locking.decide`
judges a lock. So a slot is never freed twice and never lost: the cluster holds it, not a process.

When a policy's budget is lowered, slots at or beyond the new size stay counted while their holders run: a new request
starts only when fewer than N slots are live and a slot below N is free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from deployreq.decide.locking import Create, LeaseRecord, LockDecision, Renew, Take, Takeover, Wait, decide


@dataclass(frozen=True)
class Slot:
    """One slot Lease as last seen: its index, its record (None when absent), and when this process saw it change."""

    index: int
    record: LeaseRecord | None
    observed_at: float


@dataclass(frozen=True)
class Claim:
    """Write ``decision`` on slot ``index`` (Create, Renew, Take or Takeover)."""

    index: int
    decision: LockDecision


@dataclass(frozen=True)
class Full:
    """Every slot is live with someone else: decide again at ``until`` (the earliest a holder could lapse), or when a
    slot is released."""

    until: float
    holders: tuple[str, ...]


def _is_mine(slots: Sequence[Slot], index: int, me: str) -> bool:
    record = next(s.record for s in slots if s.index == index)
    return record is not None and request_of(record.holder) == request_of(me)


def slot_name(prefix: str, policy: str, index: int) -> str:
    return f"{prefix}-{policy}-{index}"


def request_of(holder: str) -> str:
    """The request part of a slot holder ``<namespace>/<request>@<operator>``."""
    return holder.rsplit("@", 1)[0]


def _decide(slot: Slot, me: str, now: float, active: frozenset[str], adopt: bool) -> LockDecision:
    record = slot.record
    if record is not None and record.holder and record.holder != me:
        if adopt and request_of(record.holder) == request_of(me):
            # The same request, driven before by another operator (HA takeover) or another incarnation, and ``me``
            # holds its namespace lock now: the lock fences who drives it, so its slot passes on at once.
            return Take(record.transitions + 1)
        decision = decide(record, me, now, slot.observed_at)
        if isinstance(decision, Takeover) and request_of(record.holder) in active:
            # Its operator stopped renewing, but its request still runs: the slot stays counted.
            return Wait(now + record.duration_seconds, record.holder)
        return decision
    return decide(record, me, now, slot.observed_at)


def claim(
    slots: Sequence[Slot],
    size: int,
    me: str,
    now: float,
    active: frozenset[str] = frozenset(),
    adopt: bool = False,
) -> Claim | Full:
    """Which slot ``me`` takes (or keeps) in a budget of ``size``, given every slot Lease seen (any index).

    ``active``: the requests (``<namespace>/<request>``) known to be active; their slots are never taken over.
    ``adopt``: ``me`` holds its request's namespace lock, so a slot its request holds under another operator's name
    is its own (never before the lock: another operator may be driving that request).
    """
    decisions = {s.index: _decide(s, me, now, active, adopt) for s in slots}
    same = next(
        (i for i, d in sorted(decisions.items()) if isinstance(d, Take) and _is_mine(slots, i, me)), None
    )
    if same is not None:
        return Claim(same, decisions[same])
    mine = next((i for i, d in sorted(decisions.items()) if isinstance(d, Renew)), None)
    if mine is not None:
        return Claim(mine, decisions[mine])
    live = {i: d for i, d in decisions.items() if isinstance(d, Wait)}
    if len(live) < size:
        for index in range(size):
            decision = decisions.get(index, Create())
            if isinstance(decision, Create | Take | Takeover):
                return Claim(index, decision)
    until = min((d.until for d in live.values()), default=now)
    return Full(until, tuple(sorted(d.holder for d in live.values())))
