"""The namespace lock decision, made as client-go's leader election makes it (tools/leaderelection).

Expiry is judged on the local clock from when this process last saw the record change (``observed_at``), never by
comparing the record's renewTime with the local clock: clocks of different machines disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deployreq.api.times import micro_time

Obj = dict[str, Any]


@dataclass(frozen=True)
class LeaseRecord:
    """The parts of a Lease's spec (and its resourceVersion) the decision needs."""

    holder: str
    duration_seconds: int
    acquire_time: str
    renew_time: str
    transitions: int
    resource_version: str


@dataclass(frozen=True)
class Create:
    """No Lease exists: create one holding it."""


@dataclass(frozen=True)
class Renew:
    """We hold it: refresh renewTime (acquireTime and transitions unchanged)."""


@dataclass(frozen=True)
class Take:
    """Nobody holds it (released): take it at once; client-go counts every change of holder as a transition."""

    transitions: int


@dataclass(frozen=True)
class Takeover:
    """Another holder stopped renewing for a whole lease duration: take it over."""

    transitions: int
    previous_holder: str


@dataclass(frozen=True)
class Wait:
    """Another holder's lease is live: try again at ``until`` (local clock)."""

    until: float
    holder: str


LockDecision = Create | Renew | Take | Takeover | Wait


def record_of(lease: Obj | None) -> LeaseRecord | None:
    """The record of a Lease object as the API returns it, or None when there is none."""
    if not lease:
        return None
    spec = lease.get("spec") or {}
    return LeaseRecord(
        holder=str(spec.get("holderIdentity") or ""),
        duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
        acquire_time=str(spec.get("acquireTime") or ""),
        renew_time=str(spec.get("renewTime") or ""),
        transitions=int(spec.get("leaseTransitions") or 0),
        resource_version=str((lease.get("metadata") or {}).get("resourceVersion") or ""),
    )


def decide(
    record: LeaseRecord | None, me: str, now: float, observed_at: float, hand_over_from: str = ""
) -> LockDecision:
    """What ``me`` does about the lock at local time ``now``, having last seen ``record`` change at ``observed_at``.

    ``hand_over_from``: a holder that passes the lock to ``me`` (the same operator, its request finished): taken at
    once in one write, as if it had been released first.
    """
    if record is None:
        return Create()
    if record.holder == me:
        return Renew()
    if not record.holder or (hand_over_from and record.holder == hand_over_from):
        return Take(record.transitions + 1)
    expires = observed_at + record.duration_seconds
    if now < expires:
        return Wait(expires, record.holder)
    return Takeover(record.transitions + 1, record.holder)


def lease_body(
    decision: LockDecision, record: LeaseRecord | None, me: str, duration_seconds: int, now: float
) -> Obj:
    """The Lease spec to write for a Create, Renew, Take or Takeover decision."""
    stamp = micro_time(now)
    if isinstance(decision, Renew) and record is not None:
        return {
            "holderIdentity": me,
            "leaseDurationSeconds": duration_seconds,
            "acquireTime": record.acquire_time or stamp,
            "renewTime": stamp,
            "leaseTransitions": record.transitions,
        }
    if isinstance(decision, Wait):
        raise ValueError("a Wait decision writes nothing")
    transitions = decision.transitions if isinstance(decision, Take | Takeover) else 0
    return {
        "holderIdentity": me,
        "leaseDurationSeconds": duration_seconds,
        "acquireTime": stamp,
        "renewTime": stamp,
        "leaseTransitions": transitions,
    }


def release_body(record: LeaseRecord, now: float) -> Obj:
    """The spec that releases a lock we hold, as client-go's release does: no holder, a 1s duration."""
    stamp = micro_time(now)
    return {
        "holderIdentity": "",
        "leaseDurationSeconds": 1,
        "acquireTime": stamp,
        "renewTime": stamp,
        "leaseTransitions": record.transitions,
    }
