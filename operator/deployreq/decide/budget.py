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


def slot_name(prefix: str, policy: str, index: int) -> str:
    return f"{prefix}-{policy}-{index}"


def claim(slots: Sequence[Slot], size: int, me: str, now: float) -> Claim | Full:
    """Which slot ``me`` takes (or keeps) in a budget of ``size``, given every slot Lease seen (any index)."""
    decisions = {s.index: decide(s.record, me, now, s.observed_at) for s in slots}
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
