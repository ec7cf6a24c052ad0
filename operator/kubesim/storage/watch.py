"""Watch events and open watches: what the store's event window and its watchers hold."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kubesim.api import errors
from kubesim.api.resources import ResourceType
from kubesim.storage.objects import Obj

Predicate = Callable[[Obj], bool]
Key = tuple[str, str]  # (group, plural)


@dataclass(frozen=True)
class Event:
    type: str  # ADDED | MODIFIED | DELETED
    object: Obj
    rv: int
    old: Obj | None = None
    wire: dict[str, bytes] = field(default_factory=dict, compare=False)  # encoded watch lines, made once


@dataclass(eq=False)
class Watcher:
    """One open watch: a queue of events filtered by namespace and selectors.

    Selector transitions follow the watch cache: an object that stops matching is sent as DELETED, one that
    starts matching as ADDED.
    """

    rt: ResourceType
    namespace: str | None
    predicate: Predicate | None
    queue: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)
    closed: bool = False
    on_close: Callable[[Watcher], None] | None = None

    def _matches(self, obj: Obj | None) -> bool:
        if obj is None:
            return False
        if self.namespace is not None and obj.get("metadata", {}).get("namespace") != self.namespace:
            return False
        return self.predicate is None or self.predicate(obj)

    def offer(self, event: Event) -> None:
        if self.closed:
            return
        now_matches = self._matches(event.object)
        if event.type == "MODIFIED":
            was_matching = self._matches(event.old)
            if now_matches and not was_matching:
                event = Event("ADDED", event.object, event.rv)
            elif was_matching and not now_matches and event.old is not None:
                # the cacher's DELETED: the previous content, at the event's resourceVersion
                gone = {**event.old, "metadata": {**event.old["metadata"], "resourceVersion": str(event.rv)}}
                event = Event("DELETED", gone, event.rv)
            elif not now_matches:
                return
        elif not now_matches:
            return
        self.queue.put_nowait(event)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)
            if self.on_close is not None:
                self.on_close(self)


class EventWindow:
    """Per type: the retained window of recent events (etcd's history) and the open watches fed from it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._log: dict[Key, deque[Event]] = {}
        self._evicted: dict[Key, int] = {}
        self._watchers: dict[Key, set[Watcher]] = {}

    def add_type(self, key: Key) -> None:
        """Keep a window for a type; one it had before (a CRD registered again) is kept."""
        self._log.setdefault(key, deque(maxlen=self.size))
        self._evicted.setdefault(key, 0)
        self._watchers.setdefault(key, set())

    def close_type(self, key: Key) -> None:
        for watcher in list(self._watchers[key]):
            watcher.close()

    def emit(self, key: Key, event: Event) -> None:
        log = self._log[key]
        if len(log) == log.maxlen and log:
            self._evicted[key] = log[0].rv
        log.append(event)
        for watcher in list(self._watchers[key]):
            watcher.offer(event)

    def open(
        self,
        rt: ResourceType,
        namespace: str | None,
        since: str | None,
        predicate: Predicate | None,
        current: Callable[[], Iterable[Obj]],
    ) -> Watcher:
        """``since`` empty or "0": ADDED for every ``current`` object first; otherwise replay from the retained
        window, or 410 Gone when that resourceVersion fell out of it."""
        watcher = Watcher(rt, namespace, predicate, on_close=self._drop)
        if not since or since == "0":
            for obj in current():
                watcher.offer(Event("ADDED", obj, int(obj["metadata"]["resourceVersion"])))
        else:
            try:
                start = int(since)
            except ValueError:
                raise errors.bad_request(f'invalid resource version "{since}"') from None
            evicted = self._evicted[rt.key]
            if start < evicted:
                raise errors.gone(f"too old resource version: {start} ({evicted + 1})")
            for event in self._log[rt.key]:
                if event.rv > start:
                    watcher.offer(event)
        self._watchers[rt.key].add(watcher)
        return watcher

    def _drop(self, watcher: Watcher) -> None:
        self._watchers.get(watcher.rt.key, set()).discard(watcher)

    def close_all(self) -> None:
        for watchers in self._watchers.values():
            for watcher in list(watchers):
                watcher.close()

    def watcher_count(self) -> int:
        return sum(len(w) for w in self._watchers.values())

    def compact(self, resource_version: int) -> None:
        """Forget every event; a type without events is compacted up to ``resource_version``."""
        for key, log in self._log.items():
            if log:
                self._evicted[key] = log[-1].rv
                log.clear()
            else:
                self._evicted[key] = resource_version
