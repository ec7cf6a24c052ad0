"""The garbage collector and the namespace controller.

Background deletion: dependents of a deleted owner are deleted. Foreground: an owner holding the
``foregroundDeletion`` finalizer waits until its dependents are gone. Orphan: dependents lose their ownerReference.
A terminating namespace is emptied, then removed; new namespaces get their ``default`` ServiceAccount."""

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


class NamespaceController(Controller):
    name = "namespace"

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.namespaces = store.require("", "namespaces")
        self.serviceaccounts = store.require("", "serviceaccounts")

    def on_event(self, rt: ResourceType, event: Event) -> None:
        meta = event.object.get("metadata", {})
        if rt.key == ("", "namespaces"):
            self.enqueue(("", meta["name"]))
        elif rt.namespaced and event.type == "DELETED":
            ns = self.store.peek(self.namespaces, None, meta.get("namespace", ""))
            if ns is not None and ns["metadata"].get("deletionTimestamp"):
                self.enqueue(("", meta["namespace"]))

    def sync(self, key: Key) -> None:
        name = key[1]
        ns = self.store.peek(self.namespaces, None, name)
        if ns is None:
            return
        if not ns["metadata"].get("deletionTimestamp"):
            if self.store.peek(self.serviceaccounts, name, "default") is None:
                self.store.create(self.serviceaccounts, name, {"metadata": {"name": "default"}})
            return
        remaining = 0
        for rt in self.store.types():
            if not rt.namespaced:
                continue
            for obj in list(self.store.iter(rt, name)):
                remaining += 1
                if not obj["metadata"].get("deletionTimestamp"):
                    try:
                        self.store.delete(rt, name, obj["metadata"]["name"])
                    except errors.ApiError as exc:
                        if exc.code != 404:
                            raise
        if remaining:
            self.later(key, 0.2)
            return
        self.store.finalize_namespace(name)
