"""A controller's skeleton: a set of dirty keys filled by store events and timers, drained by one task."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kubesim.api import errors
from kubesim.api.resources import ResourceType
from kubesim.storage.objects import clone
from kubesim.storage.store import Store
from kubesim.storage.watch import Event

log = logging.getLogger(__name__)
Key = tuple[str, str]  # (namespace, name)


class Controller:
    """Subclasses map store events to keys in ``on_event`` and implement ``sync(key)``; ``enqueue`` marks a key
    dirty, ``later`` schedules a re-sync (deadlines, minReadySeconds). One task drains the dirty keys, so a
    controller never syncs the same key twice at once."""

    name = "controller"

    def __init__(self, store: Store) -> None:
        self.store = store
        self._dirty: dict[Key, None] = {}
        self._wake = asyncio.Event()
        self._timers: dict[Key, asyncio.TimerHandle] = {}

    def enqueue(self, key: Key) -> None:
        self._dirty[key] = None
        self._wake.set()

    def later(self, key: Key, delay: float) -> None:
        loop = asyncio.get_running_loop()
        existing = self._timers.get(key)
        when = loop.time() + max(0.0, delay)
        if existing is not None and existing.when() <= when:
            return
        if existing is not None:
            existing.cancel()
        self._timers[key] = loop.call_at(when, self._fire, key)

    def _fire(self, key: Key) -> None:
        self._timers.pop(key, None)
        self.enqueue(key)

    def on_event(self, rt: ResourceType, event: Event) -> None:  # overridden
        """Map a store event to keys of this controller."""

    def sync(self, key: Key) -> None:  # overridden
        """Bring one object towards its desired state."""

    def _listener(self, rt: ResourceType, event: Event) -> None:
        try:
            self.on_event(rt, event)
        except Exception:
            log.exception("%s: event handling failed", self.name)

    def attach(self) -> None:
        """Start receiving store events; call before anything else can write, so no event is missed."""
        if self._listener not in self.store.listeners:
            self.store.listeners.append(self._listener)

    def replay(self) -> None:
        """Feed every stored object to ``on_event`` as ADDED: a controller starting on a filled store."""
        for rt in self.store.types():
            for obj in list(self.store.iter(rt)):
                self._listener(rt, Event("ADDED", obj, 0))

    async def run(self) -> None:
        self.attach()
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                batch = list(self._dirty)
                self._dirty.clear()
                for key in batch:
                    try:
                        self.sync(key)
                    except errors.ApiError as exc:
                        if exc.code not in (404, 409):
                            log.warning("%s: sync %s: %s", self.name, key, exc)
                        self.later(key, 0.05)
                    except Exception:
                        log.exception("%s: sync %s failed", self.name, key)
                        self.later(key, 1.0)
                await asyncio.sleep(0)
        finally:
            if self._listener in self.store.listeners:
                self.store.listeners.remove(self._listener)
            for timer in self._timers.values():
                timer.cancel()


class OwnerController(Controller):
    """A controller of one kind of owner whose children carry its controller reference (Deployment ->
    ReplicaSets, ReplicaSet -> pods, StatefulSet, DaemonSet, Job -> pods, CronJob -> Jobs): an owner's events
    enqueue it, a child's event enqueues the owner its controller reference names. ``owners`` and ``children`` are
    their resource types."""

    owner: tuple[str, str] = ("", "")
    owner_kind = ""
    child: tuple[str, str] = ("", "pods")

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.owners = store.require(*self.owner)
        self.children = store.require(*self.child)

    def on_event(self, rt: ResourceType, event: Event) -> None:
        if rt.key == self.owner:
            self.enqueue(key_of(event.object))
        elif rt.key == self.child:
            ref = controller_ref(event.object)
            if ref and ref.get("kind") == self.owner_kind:
                self.enqueue((event.object["metadata"].get("namespace", ""), ref["name"]))

    def live_owner(self, key: Key) -> dict[str, Any] | None:
        """The owner of ``key``, None when it is gone or being deleted (nothing to sync)."""
        owner = self.store.peek(self.owners, *key)
        return None if owner is None or owner["metadata"].get("deletionTimestamp") else owner

    def children_of(self, owner: dict[str, Any]) -> list[dict[str, Any]]:
        """Every child ``owner`` controls, those being deleted included."""
        uid = owner["metadata"]["uid"]
        ns = owner["metadata"]["namespace"]
        return [c for c in self.store.iter(self.children, ns) if (controller_ref(c) or {}).get("uid") == uid]

    def write_status(self, owner: dict[str, Any], status: dict[str, Any]) -> None:
        """Write ``status`` through the owner's /status subresource unless it is already its status."""
        if status == (owner.get("status") or {}):
            return
        ns, name = key_of(owner)
        current = self.store.peek(self.owners, ns, name)
        if current is None:
            return
        updated = clone(current)
        updated["status"] = status
        self.store.update(self.owners, ns, name, updated, subresource="status")


def key_of(obj: dict[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace", "")), str(meta.get("name", "")))


def controller_ref(obj: dict[str, Any]) -> dict[str, Any] | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref  # type: ignore[no-any-return]
    return None


def owner_reference(owner: dict[str, Any]) -> dict[str, Any]:
    """The controller reference a controller puts on what it creates or adopts."""
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
