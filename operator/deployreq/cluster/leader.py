"""Leader election for HA installs, as client-go's leaderelection does it, on the same Lease mechanics.

Only the leader runs the operator. A standby keeps reading the Lease and takes over once the leader has not renewed
for the lease duration (judged on the standby's own clock). A leader that fails to renew within the lease duration
stops at once: the process exits and its pod restarts as a standby, so two leaders never act at the same time for
longer than one renewal round trip.
"""

from __future__ import annotations

import asyncio
import logging
import time

from deployreq import errors
from deployreq.cluster import kube
from deployreq.cluster.lease import LeaseLock

log = logging.getLogger(__name__)

LEADER_LEASE = "deployreq-leader"


class LeaderElector:
    def __init__(
        self,
        client: kube.Kube,
        namespace: str,
        identity: str,
        duration: float,
        renew_interval: float,
        retry_interval: float,
    ) -> None:
        self.lock = LeaseLock(client, namespace, identity, duration, name=LEADER_LEASE)
        self.identity = identity
        self.duration = duration
        self.renew_interval = renew_interval
        self.retry_interval = retry_interval

    async def acquire(self) -> None:
        """Wait until this process leads."""
        seen: str | None = None
        while True:
            try:
                await self.lock.refresh()
                holder = self.lock.holder.operator if self.lock.holder else ""
                if (
                    holder != seen
                ):  # which leader the standby waits on, and from when, tells a slow takeover's cause
                    seen = holder
                    log.info(
                        "standby: the leader is %s; taking over after %.0fs without renewal",
                        holder or "nobody",
                        self.duration,
                    )
                if await self.lock.acquire("leader", self.identity):
                    log.info("became the leader (lease %s/%s)", self.lock.namespace, LEADER_LEASE)
                    return
            except errors.ApiError as exc:
                log.warning("leader election: %s", exc)
            await asyncio.sleep(self.retry_interval)

    async def keep(self, lost: asyncio.Event) -> None:
        """Renew until renewals fail for longer than the lease duration, then set ``lost``."""
        last_ok = time.monotonic()
        while not lost.is_set():
            await asyncio.sleep(self.renew_interval)
            try:
                if await self.lock.renew():
                    last_ok = time.monotonic()
                    continue
                log.error(
                    "leadership lost to %s", self.lock.holder.identity if self.lock.holder else "nobody"
                )
                lost.set()
            except errors.ApiError as exc:
                log.warning("leader renewal failed: %s", exc)
                if time.monotonic() - last_ok > self.duration:
                    log.error("could not renew leadership for %.1fs; stepping down", self.duration)
                    lost.set()

    async def release(self) -> None:
        try:
            await self.lock.release()
        except errors.ApiError as exc:
            log.warning("could not release leadership: %s", exc)
