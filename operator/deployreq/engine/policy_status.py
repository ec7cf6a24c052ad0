"""Writes each DeployPolicy's ``/status`` (decide/policy_status.py decides what it shows), only when it differs.

Woken by the informers (a policy, a namespace's labels) and by every request event (the active counts), and by a
timer at the next instant a window or a freeze begins or ends; never on a fixed interval. The first pass waits
until every request is known, so a restarted operator never shows a count from a half-filled index. Passes are at least
``min_interval`` apart, so a burst of events costs one pass. Only an operator serving every namespace writes (one
serving some namespaces does not see every active request), and in an HA install only the leader runs at all.
A restarted operator computes the same status from the cluster and writes only what differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime

from deployreq import errors
from deployreq.api import names
from deployreq.cluster import kube
from deployreq.cluster.cache import Cache
from deployreq.decide import policy_status
from deployreq.decide.policy import parse_instant

log = logging.getLogger(__name__)

Obj = policy_status.Obj


def status_path(name: str) -> str:
    return f"/apis/{names.GROUP}/{names.VERSION}/{names.POLICY_PLURAL}/{name}/status"


class PolicyStatusWriter:
    def __init__(
        self,
        client: kube.Kube,
        cache: Cache,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        min_interval: float = 0.5,
    ) -> None:
        self.client = client
        self.cache = cache
        self.wall = wall
        self.monotonic = monotonic
        self.min_interval = min_interval
        self._wake = asyncio.Event()
        self._deadline: float | None = None  # monotonic
        self._written: dict[str, tuple[str, Obj]] = {}  # name -> (resourceVersion written on, status written)
        self.task: asyncio.Task[None] | None = None
        self.ready = False

    def poke(self) -> None:
        """Something the statuses show may have changed: compute them again soon."""
        self._wake.set()

    def indexed(self) -> None:
        """Every request is known (kopf handles the first one only once its index holds them all, or there is
        none): from now on the active counts are true, and a pass may write them."""
        self.ready = True
        self._wake.set()

    def start(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run(), name="deployreq-policy-status")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            timeout = None if self._deadline is None else max(0.0, self._deadline - self.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            self._deadline = None
            if not self.ready:
                continue
            try:
                self._wake_at(await self.sync())
                backoff = 0.5
            except errors.ApiError as exc:
                log.warning("DeployPolicy status: %s; again in %.1fs", exc, backoff)
                self._deadline = self.monotonic() + backoff
                backoff = min(backoff * 2, 30.0)
            except Exception:
                log.exception("DeployPolicy status: unexpected error; again in %.1fs", backoff)
                self._deadline = self.monotonic() + backoff
                backoff = min(backoff * 2, 30.0)
            await asyncio.sleep(self.min_interval)

    def _wake_at(self, at: datetime | None) -> None:
        if at is not None:  # a little after the edge, so the pass sees the new side of it
            self._deadline = self.monotonic() + max(0.0, at.timestamp() - self.wall()) + 0.05

    def _active(self) -> dict[str, int]:
        return {
            namespace: sum(1 for req in self.cache.requests(namespace) if req.active)
            for namespace in self.cache.request_namespaces()
        }

    async def sync(self) -> datetime | None:
        """Write every policy's status that differs from what it shows; returns the next instant one changes."""
        policies = self.cache.policies
        every = policies.every()
        if not every:  # no policy: nothing to count
            self._written.clear()
            return None
        namespaces = {
            str(body["metadata"]["name"]): (body["metadata"].get("labels") or {})
            for body in policies.namespaces.in_namespace("")
        }
        active = self._active()
        now = parse_instant(self.wall())
        earliest: datetime | None = None
        self._written = {
            n: w for n, w in self._written.items() if any(n == b["metadata"]["name"] for b, _ in every)
        }
        for body, parsed in every:
            seen = policy_status.seen_of(body, parsed)
            shown = policy_status.show(seen, namespaces, active, now)
            if shown.next_change is not None and (earliest is None or shown.next_change < earliest):
                earliest = shown.next_change
            await self._write(
                seen.name, str(body["metadata"].get("resourceVersion") or ""), seen.shown, shown
            )
        return earliest

    async def _write(self, name: str, rv: str, current: Obj, shown: policy_status.Shown) -> None:
        if shown.status == current or self._written.get(name) == (rv, shown.status):
            return  # shown already, or written and its watch event not seen yet
        try:
            await self.client.patch(status_path(name), policy_status.patch_of(shown.status))
        except errors.NotFound:
            return  # deleted meanwhile
        self._written[name] = (rv, shown.status)
