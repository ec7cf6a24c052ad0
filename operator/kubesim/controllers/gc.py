"""The garbage collector (kubernetes pkg/controller/garbagecollector).

Background deletion: dependents of a deleted owner are deleted. Foreground: an owner holding the
``foregroundDeletion`` finalizer waits until its dependents are gone. Orphan: dependents lose their ownerReference."""

from __future__ import annotations

from typing import Any

from kubesim.api import errors
from kubesim.api.resources import ResourceType
from kubesim.controllers.base import Controller, Key
from kubesim.storage.objects import clone
from kubesim.storage.store import Store
from kubesim.storage.watch import Event

Obj = dict[str, Any]


class GarbageCollector(Controller):
    name = "garbage-collector"

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self._owners: dict[
            str, tuple[ResourceType, str, str]
        ] = {}  # uid -> (type, ns, name) of deleted/deleting
        self._dependents: dict[str, tuple[ResourceType, str, str]] = {}  # uid -> where, to check its owners

    def on_event(self, rt: ResourceType, event: Event) -> None:
        meta = event.object.get("metadata", {})
        if event.type == "DELETED" or (
            meta.get("deletionTimestamp")
            and set(meta.get("finalizers") or []) & {"foregroundDeletion", "orphan"}
        ):
            self.enqueue(("uid", meta["uid"]))
            self._owners[meta["uid"]] = (rt, meta.get("namespace", ""), meta["name"])
        refs = meta.get("ownerReferences") or []
        for ref in refs:
            if ref.get("uid") in self._owners:
                self.enqueue(("uid", ref["uid"]))
        old_refs = ((event.old or {}).get("metadata") or {}).get("ownerReferences") or []
        if event.type != "DELETED" and refs and (event.type == "ADDED" or refs != old_refs):
            self._dependents[meta["uid"]] = (rt, meta.get("namespace", ""), meta["name"])
            self.enqueue(("dependent", meta["uid"]))

    def _owner_exists(self, ref: Obj, namespace: str) -> bool:
        """An owner reference resolves when an object of that kind and name has that uid; references to kinds
        kubesim does not serve count as present (a real GC would wait for discovery)."""
        for rt in self.store.types():
            if rt.kind == ref.get("kind") and rt.api_version == ref.get("apiVersion"):
                owner = self.store.peek(rt, namespace if rt.namespaced else None, str(ref.get("name", "")))
                return owner is not None and owner["metadata"].get("uid") == ref.get("uid")
        return True

    def _sync_dependent(self, uid: str) -> None:
        """A dependent whose owners are all gone is deleted; dangling references beside live ones are dropped."""
        found = self._dependents.pop(uid, None)
        if found is None:
            return
        rt, ns, name = found
        obj = self.store.peek(rt, ns or None, name)
        if obj is None or obj["metadata"]["uid"] != uid or obj["metadata"].get("deletionTimestamp"):
            return
        refs = obj["metadata"].get("ownerReferences") or []
        live = [r for r in refs if self._owner_exists(r, ns)]
        if not live:
            self._delete(rt, obj)
        elif len(live) != len(refs):
            updated = clone(obj)
            updated["metadata"]["ownerReferences"] = live
            self.store.update(rt, ns or None, name, updated)

    def _alive(self, uid: str) -> Obj | None:
        rt, ns, name = self._owners[uid]
        obj = self.store.peek(rt, ns or None, name)
        return obj if obj is not None and obj["metadata"]["uid"] == uid else None

    def sync(self, key: Key) -> None:
        uid = key[1]
        if key[0] == "dependent":
            self._sync_dependent(uid)
            return
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
                kept = [r for r in dep["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
                if kept:
                    updated["metadata"]["ownerReferences"] = kept
                else:
                    updated["metadata"].pop("ownerReferences", None)  # an empty list is absent once encoded
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
