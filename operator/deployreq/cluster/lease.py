"""Namespace locks on ``coordination.k8s.io/v1`` Leases, as client-go's leader election uses them.

One Lease named :data:`LEASE_NAME` per namespace. Its holder is the request that may change the namespace's
Deployments, qualified by the operator that drives it (``<request>@<operator>``), so that two operators never both
believe they hold it. Expiry is judged on this process's clock from when the record was last seen to change, never by
comparing the record's renewTime with the local clock. Every write carries the resourceVersion it was based on, so two
contenders cannot both win.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deployreq import errors
from deployreq.cluster import kube
from deployreq.decide import locking

log = logging.getLogger(__name__)

LEASE_NAME = "deployreq-lock"
REQUEST_ANNOTATION = "deployreq.dev/request"
REQUEST_UID_ANNOTATION = "deployreq.dev/request-uid"
OPERATOR_ANNOTATION = "deployreq.dev/operator"


@dataclass(frozen=True)
class Holder:
    """Who holds a namespace lock: a request (by name and uid) driven by one operator."""

    request: str
    uid: str
    operator: str

    @property
    def identity(self) -> str:
        return f"{self.request}@{self.operator}"


def holder_of(lease: dict[str, Any] | None) -> Holder | None:
    if not lease:
        return None
    spec = lease.get("spec") or {}
    if not spec.get("holderIdentity"):
        return None
    annotations = lease.get("metadata", {}).get("annotations") or {}
    return Holder(
        request=annotations.get(REQUEST_ANNOTATION, ""),
        uid=annotations.get(REQUEST_UID_ANNOTATION, ""),
        operator=annotations.get(OPERATOR_ANNOTATION, ""),
    )


class LeaseLock:
    """The lock of one namespace, as seen and held by this operator."""

    def __init__(
        self,
        client: kube.Kube,
        namespace: str,
        operator: str,
        duration: float,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        name: str = LEASE_NAME,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.name = name
        self.operator = operator
        self.duration = duration
        self.clock = clock
        self.wall = wall
        self.record: dict[str, Any] | None = None
        self.known = False
        self.observed_at = 0.0
        self.read_at = 0.0
        self.renewed_at = 0.0
        self.takeovers = 0
        self.on_takeover: Callable[[], None] | None = None
        self.min_renew_interval = 0.0

    @property
    def path(self) -> str:
        return kube.lease_path(self.namespace, self.name)

    @property
    def holder(self) -> Holder | None:
        return holder_of(self.record)

    def held_by_me(self) -> bool:
        holder = self.holder
        return holder is not None and holder.operator == self.operator

    def expires_at(self) -> float:
        """Local monotonic time after which another holder's lease may be taken over."""
        spec = (self.record or {}).get("spec") or {}
        duration = float(spec.get("leaseDurationSeconds") or self.duration)
        return self.observed_at + duration

    def _remember(self, record: dict[str, Any] | None) -> None:
        old_spec = (self.record or {}).get("spec")
        new_spec = (record or {}).get("spec")
        if not self.known or old_spec != new_spec:
            self.observed_at = self.clock()
        self.record = record
        self.known = True

    async def refresh(self) -> None:
        """Read the Lease (a 404 means nobody ever held it)."""
        self._remember(await self.client.get_or_none(self.path))
        self.read_at = self.clock()

    def fresh(self, fraction: float = 2 / 3) -> bool:
        """Held by this operator and renewed so recently that nobody can have taken it over since.

        Another operator takes a lock over only after it saw the record unchanged for the lease duration, so a
        holder that renewed less than ``fraction`` of it ago may still write. A process that was stopped
        (SIGSTOP, a frozen VM, a long pause) finds its lock stale on resuming and must renew before it writes.
        """
        return self.held_by_me() and self.clock() < self.renewed_at + self.duration * fraction

    def recheck_at(self) -> float:
        """When a lock held by someone else is read again: at its expiry, or after our own lease duration if that
        comes first, so that a Lease deleted or released by hand (or one with a day-long duration) frees the
        queue within one lease duration instead of at the expiry it claims."""
        return min(self.expires_at(), self.read_at + self.duration)

    async def ensure_known(self) -> None:
        if not self.known:
            await self.refresh()

    def _body(self, holder: Holder | None, spec: dict[str, Any]) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "name": self.name,
            "namespace": self.namespace,
            "labels": {"app.kubernetes.io/managed-by": "deployreq"},
            "annotations": {
                REQUEST_ANNOTATION: holder.request if holder else "",
                REQUEST_UID_ANNOTATION: holder.uid if holder else "",
                OPERATOR_ANNOTATION: holder.operator if holder else "",
            },
        }
        if self.record:
            meta["resourceVersion"] = self.record["metadata"]["resourceVersion"]
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta, "spec": spec}

    async def _write(self, body: dict[str, Any]) -> bool:
        try:
            if self.record is None:
                result = await self.client.create(kube.lease_path(self.namespace), body)
            else:
                result = await self.client.replace(self.path, body)
        except errors.Conflict:
            await self.refresh()
            return False
        self._remember(result)
        self.renewed_at = self.clock()
        return True

    @property
    def _duration(self) -> int:
        return max(1, round(self.duration))

    async def acquire(self, request: str, uid: str, hand_over: bool = False) -> bool:
        """Take the lock for a request: free, expired, or already its own. False when someone else holds it.

        ``hand_over``: the caller knows the request this operator holds the lock for has finished; the lock passes
        to ``request`` in one write instead of a release and an acquire.
        """
        await self.ensure_known()
        if self.record is not None and not self.held_by_me() and self.clock() >= self.read_at + self.duration:
            await self.refresh()
        mine = Holder(request, uid, self.operator)
        record = locking.record_of(self.record)
        current = self.holder
        hand_over_from = (
            current.identity if hand_over and current and current.operator == self.operator else ""
        )
        decision = locking.decide(record, mine.identity, self.clock(), self.observed_at, hand_over_from)
        match decision:
            case locking.Wait():
                return False
            case locking.Renew():
                if self.clock() - self.renewed_at < self.min_renew_interval:
                    return True  # renewed moments ago: no write (a stalled process renews, or learns it lost)
                return await self.renew()
            case locking.Takeover(previous_holder=previous):
                log.info("taking over the lock of %s from %s", self.namespace, previous)
        spec = locking.lease_body(decision, record, mine.identity, self._duration, self.wall())
        ok = await self._write(self._body(mine, spec))
        if ok and isinstance(decision, locking.Takeover):
            self.takeovers += 1
            if self.on_takeover is not None:
                self.on_takeover()
        return ok

    async def renew(self) -> bool:
        """Renew the lock we hold; False if we lost it."""
        holder = self.holder
        record = locking.record_of(self.record)
        if holder is None or holder.operator != self.operator or record is None:
            return False
        spec = locking.lease_body(locking.Renew(), record, holder.identity, self._duration, self.wall())
        ok = await self._write(self._body(holder, spec))
        return ok and self.held_by_me()

    async def release(self) -> None:
        """Give the lock up (holder cleared, as client-go's ReleaseOnCancel does)."""
        record = locking.record_of(self.record)
        if not self.held_by_me() or record is None:
            return
        await self._write(self._body(None, locking.release_body(record, self.wall())))

    def due_for_renewal(self, interval: float) -> bool:
        return self.held_by_me() and self.clock() >= self.renewed_at + interval
