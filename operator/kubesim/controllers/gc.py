"""The garbage collector (kubernetes pkg/controller/garbagecollector).

Background deletion: dependents of a deleted owner are deleted. Foreground: an owner holding the
``foregroundDeletion`` finalizer waits until its dependents are gone. Orphan: dependents lose their ownerReference."""

from __future__ import annotations

from typing import Any

from kubesim import errors
from kubesim.controllers.base import Controller, Key
from kubesim.resources import ResourceType
from kubesim.store import Event, Store, clone

Obj = dict[str, Any]


class GarbageCollector(Controller):
    name = "garbage-collector"

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self._owners: dict[
            str, tuple[ResourceType, str, str]
        ] = {}  # uid -> (type, ns, name) of deleted/deleting

    def on_event(self, rt: ResourceType, event: Event) -> None:
        meta = event.object.get("metadata", {})
        if event.type == "DELETED" or (
            meta.get("deletionTimestamp")
            and set(meta.get("finalizers") or []) & {"foregroundDeletion", "orphan"}
        ):
            self.enqueue(("uid", meta["uid"]))
            self._owners[meta["uid"]] = (rt, meta.get("namespace", ""), meta["name"])
        for ref in meta.get("ownerReferences") or []:
            if ref.get("uid") in self._owners:
                self.enqueue(("uid", ref["uid"]))

    def _alive(self, uid: str) -> Obj | None:
        rt, ns, name = self._owners[uid]
        obj = self.store.peek(rt, ns or None, name)
        return obj if obj is not None and obj["metadata"]["uid"] == uid else None

    def sync(self, key: Key) -> None:
        uid = key[1]
        if uid not in self._owners:
            return
        owner = self._alive(uid)
        dependents = self.store.owned_by(uid)
        if owner is None:
            for rt, dep in dependents:
                if not dep["metadata"].get("deletionTimestamp"):
                    self._delete(rt, dep)
            if not dependents:
                del self._owners[uid]
            return
        rt = self._owners[uid][0]
        finalizers = list(owner["metadata"].get("finalizers") or [])
        if "orphan" in finalizers:
            for dep_rt, dep in dependents:
                updated = clone(dep)
                updated["metadata"]["ownerReferences"] = [
                    r for r in dep["metadata"].get("ownerReferences") or [] if r.get("uid") != uid
                ]
                self.store.update(dep_rt, dep["metadata"].get("namespace"), dep["metadata"]["name"], updated)
            self._remove_finalizer(rt, owner, "orphan")
        elif "foregroundDeletion" in finalizers:
            if dependents:
                for dep_rt, dep in dependents:
                    if not dep["metadata"].get("deletionTimestamp"):
                        self._delete(dep_rt, dep, "Foreground")
            else:
                self._remove_finalizer(rt, owner, "foregroundDeletion")

    def _delete(self, rt: ResourceType, obj: Obj, propagation: str | None = None) -> None:
        try:
            self.store.delete(
                rt, obj["metadata"].get("namespace"), obj["metadata"]["name"], propagation=propagation
            )
        except errors.ApiError as exc:
            if exc.code != 404:
                raise

    def _remove_finalizer(self, rt: ResourceType, obj: Obj, finalizer: str) -> None:
        updated = clone(obj)
        updated["metadata"]["finalizers"] = [
            f for f in obj["metadata"].get("finalizers") or [] if f != finalizer
        ]
        self.store.update(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"], updated)
