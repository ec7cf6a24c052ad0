"""DeployPolicy budgets (``maxConcurrent``) held in the cluster as slot Leases (decide/budget.py decides).

The slots of a policy are Leases ``deployreq-budget-<policy>-<index>`` in the operator's namespace
(``--leader-election-namespace``), labelled ``deployreq.dev/budget=<policy>``. A slot's holder is
``<namespace>/<request>@<operator>``; it is renewed with the namespace lock while its request is active, released
when the request ends or is requeued, and taken over only after one lease duration without renewal (judged on this
process's clock, as the namespace lock), never while its request is seen active. Every write names the
resourceVersion it was decided on, so two contenders never both take one slot.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from deployreq import errors
from deployreq.cluster import kube
from deployreq.decide import budget, locking

log = logging.getLogger(__name__)

Obj = dict[str, Any]
PREFIX = "deployreq-budget"
POLICY_LABEL = "deployreq.dev/budget"
INDEX_ANNOTATION = "deployreq.dev/slot"


class Budgets:
    """This process's view of every budget's slots, its claims, renewals and releases."""

    def __init__(
        self,
        client: kube.Kube,
        namespace: str,
        operator: str,
        duration: float,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.operator = operator
        self.duration = max(1, round(duration))
        self.clock = clock
        self.wall = wall
        self._seen: dict[str, tuple[Obj, float]] = {}  # Lease name -> (its spec, when it last changed here)
        self._objects: dict[str, Obj] = {}  # Lease name -> the object last seen
        self._waiting: dict[str, set[Callable[[], None]]] = {}  # policy -> workers waiting for a slot

    def holder(self, namespace: str, request: str) -> str:
        return f"{namespace}/{request}@{self.operator}"

    def _remember(self, lease: Obj) -> None:
        name = str(lease["metadata"]["name"])
        spec = lease.get("spec") or {}
        before = self._seen.get(name)
        self._seen[name] = (spec, self.clock() if before is None or before[0] != spec else before[1])
        self._objects[name] = lease

    async def _slots(self, policy: str) -> list[budget.Slot]:
        listing = await self.client.get(
            kube.lease_path(self.namespace), {"labelSelector": f"{POLICY_LABEL}={policy}"}
        )
        slots = []
        for lease in listing.get("items") or []:
            self._remember(lease)
            index = (lease["metadata"].get("annotations") or {}).get(INDEX_ANNOTATION, "")
            if index.isdigit():
                name = str(lease["metadata"]["name"])
                slots.append(budget.Slot(int(index), locking.record_of(lease), self._seen[name][1]))
        return slots

    def _body(self, policy: str, index: int, spec: Obj, previous: Obj | None) -> Obj:
        meta: Obj = {
            "name": budget.slot_name(PREFIX, policy, index),
            "namespace": self.namespace,
            "labels": {"app.kubernetes.io/managed-by": "deployreq", POLICY_LABEL: policy},
            "annotations": {INDEX_ANNOTATION: str(index)},
        }
        if previous is not None:
            meta["resourceVersion"] = previous["metadata"]["resourceVersion"]
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta, "spec": spec}

    async def _write(self, body: Obj, create: bool) -> bool:
        try:
            if create:
                result = await self.client.create(kube.lease_path(self.namespace), body)
            else:
                result = await self.client.replace(
                    kube.lease_path(self.namespace, body["metadata"]["name"]), body
                )
        except errors.Conflict:
            return False
        self._remember(result)
        return True

    async def claim(
        self, policy: str, size: int, me: str, active: frozenset[str], adopt: bool = False
    ) -> budget.Claim | budget.Full | None:
        """Take (or keep) a slot of ``policy``'s budget for ``me``: the Claim written, the Full budget, or None
        when a concurrent write won the slot (decide again). ``adopt``: ``me`` holds its namespace lock."""
        slots = await self._slots(policy)
        decision = budget.claim(slots, size, me, self.clock(), active, adopt)
        if isinstance(decision, budget.Full):
            return decision
        name = budget.slot_name(PREFIX, policy, decision.index)
        previous = self._objects.get(name) if any(s.index == decision.index for s in slots) else None
        record = locking.record_of(previous)
        if isinstance(decision.decision, locking.Takeover):
            log.info("taking over slot %s from %s", name, decision.decision.previous_holder)
        spec = locking.lease_body(decision.decision, record, me, self.duration, self.wall())
        ok = await self._write(self._body(policy, decision.index, spec, previous), create=previous is None)
        return decision if ok else None

    def wait_for(self, policy: str, wake: Callable[[], None]) -> None:
        """Wake ``wake`` when this process releases a slot of ``policy``."""
        self._waiting.setdefault(policy, set()).add(wake)

    def _held(self, me: str) -> list[tuple[str, Obj]]:
        return [
            (name, lease)
            for name, lease in self._objects.items()
            if (lease.get("spec") or {}).get("holderIdentity") == me
        ]

    async def renew(self, me: str) -> bool:
        """Renew every slot ``me`` holds (as the namespace lock is renewed); False when one was lost."""
        kept = True
        for _name, lease in self._held(me):
            record = locking.record_of(lease)
            spec = locking.lease_body(locking.Renew(), record, me, self.duration, self.wall())
            policy = lease["metadata"]["labels"][POLICY_LABEL]
            index = int(lease["metadata"]["annotations"][INDEX_ANNOTATION])
            if not await self._write(self._body(policy, index, spec, lease), create=False):
                log.warning("slot %s of %s was lost", _name, me)
                kept = False
        return kept

    def holds(self, me: str) -> bool:
        return bool(self._held(me))

    async def release(self, me: str) -> None:
        """Free every slot ``me`` holds (holder cleared, as the namespace lock is), then wake the waiting workers."""
        for name, lease in self._held(me):
            record = locking.record_of(lease)
            if record is None:
                continue
            policy = lease["metadata"]["labels"][POLICY_LABEL]
            index = int(lease["metadata"]["annotations"][INDEX_ANNOTATION])
            body = self._body(policy, index, locking.release_body(record, self.wall()), lease)
            if not await self._write(body, create=False):
                log.info("slot %s changed before %s released it; left as it is", name, me)
            for wake in self._waiting.pop(policy, set()):
                wake()
