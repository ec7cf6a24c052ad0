"""A list-then-watch mirror of one resource type, kept current: client-go's reflector and store, in small.

The operator reads Deployments, ReplicaSets and Pods far more often than anything changes them, and they change far
more often than DeploymentRequests do (a rollout writes each several times). kopf would run every one of those watch
events through its per-object machinery (a worker task, causes, loggers, progress storage) only for an index
handler to copy the body: about half the operator's CPU under load (docs/performance.md). An informer keeps the same
mirror from one list and one watch per type, and reports which namespace changed.

Semantics follow the reflector's:
- list (paginated), replace the mirror, then watch from the list's resourceVersion with bookmarks;
- a watch that ends is resumed from the last resourceVersion seen (an event's or a bookmark's);
- ``410 Gone`` (the resourceVersion fell out of the server's window) means list again, and the objects the new list
  no longer holds are reported as changed (they were deleted while nobody watched);
- transport errors are retried with a capped, jittered backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterable
from typing import Any

from deployreq import errors
from deployreq.cluster import kube

log = logging.getLogger(__name__)

Obj = dict[str, Any]

LIST_PAGE = 500
WATCH_TIMEOUT_SECONDS = (300, 600)  # client-go picks each watch's server-side timeout in [5, 10) minutes
BACKOFF = (0.2, 30.0)


class Mirror:
    """The objects of one type by namespace and name, as last seen; the stored bodies are never mutated."""

    def __init__(self) -> None:
        self._by_namespace: dict[str, dict[str, Obj]] = {}

    def put(self, obj: Obj) -> str:
        meta = obj.get("metadata") or {}
        namespace = str(meta.get("namespace") or "")
        self._by_namespace.setdefault(namespace, {})[str(meta.get("name") or "")] = obj
        return namespace

    def drop(self, obj: Obj) -> str:
        meta = obj.get("metadata") or {}
        namespace = str(meta.get("namespace") or "")
        names = self._by_namespace.get(namespace)
        if names is not None:
            names.pop(str(meta.get("name") or ""), None)
            if not names:
                del self._by_namespace[namespace]
        return namespace

    def replace(self, objects: Iterable[Obj]) -> set[str]:
        """Take a fresh listing whole; returns the namespaces whose objects differ from before."""
        before = self._by_namespace
        self._by_namespace = {}
        for obj in objects:
            self.put(obj)
        changed = set()
        for namespace in before.keys() | self._by_namespace.keys():
            old, new = before.get(namespace, {}), self._by_namespace.get(namespace, {})
            if old.keys() != new.keys() or any(kube_rv(old[name]) != kube_rv(new[name]) for name in new):
                changed.add(namespace)
        return changed

    def get(self, namespace: str, name: str) -> Obj | None:
        return self._by_namespace.get(namespace, {}).get(name)

    def in_namespace(self, namespace: str) -> list[Obj]:
        return list(self._by_namespace.get(namespace, {}).values())

    def __len__(self) -> int:
        return sum(len(names) for names in self._by_namespace.values())


def kube_rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


class Informer:
    """Keeps a :class:`Mirror` of one collection (a type in one namespace, or cluster-wide) current.

    ``keep`` trims each object before it is stored; ``on_change`` is called with the namespace of every change,
    after the mirror holds it.
    """

    def __init__(
        self,
        client: kube.Kube,
        path: str,
        mirror: Mirror,
        on_change: Callable[[str], None],
        keep: Callable[[Obj], Obj] = lambda obj: obj,
        optional: bool = False,
    ) -> None:
        self.client = client
        self.optional = optional
        """A type that may not be served (a CRD not installed yet): a 404 counts as an empty listing, retried."""
        self.path = path
        self.mirror = mirror
        self.on_change = on_change
        self.keep = keep
        self.synced = asyncio.Event()
        self.resource_version = ""
        self.relists = 0

    async def run(self) -> None:
        """List and watch until cancelled."""
        delay = BACKOFF[0]
        while True:
            try:
                if not self.resource_version:
                    await self._list()
                started = time.monotonic()
                if await self._watch() or time.monotonic() - started > 1.0:
                    delay = BACKOFF[0]
                    continue  # the server ended the watch (its timeout): resume at once
                log.warning("%s: the watch ended at once without events; retrying in %.1fs", self.path, delay)
            except errors.ApiError as exc:
                if exc.code == 410:
                    log.info(
                        "%s: resourceVersion %s is gone, listing again", self.path, self.resource_version
                    )
                    self.resource_version = ""
                    continue
                if exc.code == 404 and self.optional:
                    if not self.synced.is_set():
                        log.warning("%s is not served (CRD not installed?): none until it is", self.path)
                    self.mirror.replace([])
                    self.synced.set()
                else:
                    log.warning("%s: %s; retrying in %.1fs", self.path, exc, delay)
            except (
                Exception
            ) as exc:  # a stream cut mid-way, an undecodable line: resume from the last version
                log.warning("%s: watch failed (%r); retrying in %.1fs", self.path, exc, delay)
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, BACKOFF[1])

    async def _list(self) -> None:
        items: list[Obj] = []
        params = {"limit": str(LIST_PAGE)}
        while True:
            page = await self.client.get(self.path, params)
            items.extend(self.keep(item) for item in page.get("items") or [])
            meta = page.get("metadata") or {}
            token = meta.get("continue")
            if not token:
                break
            params = {"limit": str(LIST_PAGE), "continue": str(token)}
        changed = self.mirror.replace(items)
        self.resource_version = str(meta.get("resourceVersion") or "")
        self.relists += 1
        self.synced.set()
        for namespace in changed:
            self.on_change(namespace)

    async def _watch(self) -> int:
        """Follow one watch request to its end; returns how many events it carried."""
        seen = 0
        params = {
            "resourceVersion": self.resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(random.randint(*WATCH_TIMEOUT_SECONDS)),
        }
        async for event in self.client.watch(self.path, params):
            seen += 1
            kind = event.get("type")
            obj = event.get("object") or {}
            if kind == "ERROR":
                code = int(obj.get("code") or 0)
                raise errors.ApiError(code, str(obj.get("reason") or "Error"), str(obj.get("message") or ""))
            rv = kube_rv(obj)
            if rv:
                self.resource_version = rv
            if kind == "BOOKMARK":
                continue
            if kind == "DELETED":
                namespace = self.mirror.drop(obj)
            elif kind in ("ADDED", "MODIFIED"):
                namespace = self.mirror.put(self.keep(obj))
            else:
                continue
            self.on_change(namespace)
        return seen


class Informers:
    """The informers of the operator, started and stopped together; ``synced`` once each has listed once."""

    def __init__(self, informers: list[Informer]) -> None:
        self.informers = informers
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        if self._tasks:
            return
        self._tasks = [asyncio.create_task(i.run(), name=f"informer {i.path}") for i in self.informers]

    def mirrors(self) -> list[Mirror]:
        """Each distinct mirror once, in the order first given."""
        seen: list[Mirror] = []
        for informer in self.informers:
            if not any(m is informer.mirror for m in seen):
                seen.append(informer.mirror)
        return seen

    async def wait_synced(self) -> None:
        await asyncio.gather(*(i.synced.wait() for i in self.informers))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []


class OnDemand:
    """Informers started the first time something needs their mirrors (a request naming a StatefulSet or a
    DaemonSet), so that an operator that never runs one pays nothing for them (no list, no watch, no memory)."""

    def __init__(self, informers: Informers) -> None:
        self.informers = informers
        self._waiting: list[Callable[[], None]] = []
        self._announcer: asyncio.Task[None] | None = None

    def synced(self) -> bool:
        return all(i.synced.is_set() for i in self.informers.informers)

    def ready(self, wake: Callable[[], None]) -> bool:
        """Whether the mirrors have listed once; if not, they are started and ``wake`` is called once they have."""
        if self.synced():
            return True
        self.informers.start()
        self._waiting.append(wake)
        if self._announcer is None:
            self._announcer = asyncio.create_task(self._announce(), name="informers on demand")
        return False

    async def _announce(self) -> None:
        await self.informers.wait_synced()
        waiting, self._waiting = self._waiting, []
        for wake in waiting:
            wake()

    async def stop(self) -> None:
        if self._announcer is not None:
            self._announcer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._announcer
        await self.informers.stop()
