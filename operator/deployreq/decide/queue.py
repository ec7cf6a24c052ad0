"""The order of a namespace's queue: who runs next, each waiting request's position, and who is superseded."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from deployreq.api.phases import TERMINAL, WAITING

PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


@dataclass(frozen=True)
class QueueEntry:
    namespace: str
    name: str
    uid: str
    priority: str
    created: str  # RFC 3339 creationTimestamp: sorts as time
    phase: str
    deployment: str
    containers: frozenset[str]

    @property
    def waiting(self) -> bool:
        return self.phase in WAITING


@dataclass(frozen=True)
class QueuePlan:
    next: str | None
    positions: dict[str, int] = field(default_factory=dict)
    superseded: dict[str, str] = field(default_factory=dict)


def order_key(entry: QueueEntry) -> tuple[int, str, str]:
    return (PRIORITY_RANK.get(entry.priority, PRIORITY_RANK["normal"]), entry.created, entry.name)


def queue_order(entries: Iterable[QueueEntry]) -> list[QueueEntry]:
    """Waiting requests in the order they run: priority (urgent first), then arrival, then name."""
    return sorted((e for e in entries if e.waiting), key=order_key)


def _arrival(entry: QueueEntry) -> tuple[str, str]:
    return (entry.created, entry.name)


def superseded(entries: Iterable[QueueEntry]) -> dict[str, str]:
    """Waiting requests made pointless by a newer live request for the same Deployment covering their containers."""
    entries = list(entries)
    live = [e for e in entries if e.phase not in TERMINAL]
    result: dict[str, str] = {}
    for old in entries:
        if not old.waiting:
            continue
        newer = [
            n
            for n in live
            if n.name != old.name
            and n.deployment == old.deployment
            and _arrival(n) > _arrival(old)
            and old.containers <= n.containers
        ]
        if newer:
            result[old.name] = max(newer, key=_arrival).name
    return result


def plan(entries: Iterable[QueueEntry], holder: str | None) -> QueuePlan:
    """The queue after superseding: positions from 1, and the request to start when the lock is free."""
    entries = list(entries)
    gone = superseded(entries)
    ordered = [e for e in queue_order(entries) if e.name not in gone]
    positions = {e.name: i for i, e in enumerate(ordered, start=1)}
    nxt = ordered[0].name if ordered and holder is None else None
    return QueuePlan(nxt, positions, gone)
