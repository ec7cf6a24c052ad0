"""The namespace controller and the service-account controller's one visible duty.

A terminating namespace is emptied (objects with finalizers hold it), then removed; every new namespace gets its
``default`` ServiceAccount."""

from __future__ import annotations

from kubesim import errors
from kubesim.controllers.base import Controller, Key
from kubesim.resources import ResourceType
from kubesim.store import Event, Store


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
