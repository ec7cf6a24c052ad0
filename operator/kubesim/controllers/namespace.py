"""The namespace controller.

A terminating namespace is emptied (objects with finalizers hold it), then removed; while it waits, its status
carries the five deletion conditions the real controller writes (pkg/controller/namespace/deletion), so
``kubectl describe namespace`` says what remains. (Its ``default`` ServiceAccount and ``kube-root-ca.crt`` come
from kubesim.controllers.bootstrap.)"""

from __future__ import annotations

from typing import Any

from kubesim.api import errors
from kubesim.api.resources import ResourceType
from kubesim.controllers.base import Controller, Key
from kubesim.storage.objects import clone, now_rfc3339
from kubesim.storage.store import Store
from kubesim.storage.watch import Event

Obj = dict[str, Any]

# (type, reason, message) of each condition while it is not failing, in the order the real controller adds them.
_OK_CONDITIONS = (
    ("NamespaceDeletionDiscoveryFailure", "ResourcesDiscovered", "All resources successfully discovered"),
    (
        "NamespaceDeletionGroupVersionParsingFailure",
        "ParsedGroupVersions",
        "All legacy kube types successfully parsed",
    ),
    (
        "NamespaceDeletionContentFailure",
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
    ),
    ("NamespaceContentRemaining", "ContentRemoved", "All content successfully removed"),
    ("NamespaceFinalizersRemaining", "ContentHasNoFinalizers", "All content-preserving finalizers finished"),
)


def deletion_conditions(
    remaining: dict[str, int], finalizers: dict[str, int]
) -> dict[str, tuple[str, str, str]]:
    """(status, reason, message) per condition type, given the objects left per ``resource.group`` and the
    objects held per finalizer (namespaceConditionUpdater.ProcessContentTotals)."""
    conditions = {kind: ("False", reason, message) for kind, reason, message in _OK_CONDITIONS}
    left = sorted(f"{gr} has {n} resource instances" for gr, n in remaining.items() if n)
    if left:
        message = f"Some resources are remaining: {', '.join(left)}"
        conditions["NamespaceContentRemaining"] = ("True", "SomeResourcesRemain", message)
    held = sorted(f"{finalizer} in {n} resource instances" for finalizer, n in finalizers.items() if n)
    if held:
        message = f"Some content in the namespace has finalizers remaining: {', '.join(held)}"
        conditions["NamespaceFinalizersRemaining"] = ("True", "SomeFinalizersRemain", message)
    return conditions


class NamespaceController(Controller):
    name = "namespace"

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.namespaces = store.require("", "namespaces")

    def on_event(self, rt: ResourceType, event: Event) -> None:
        meta = event.object.get("metadata", {})
        if rt.key == ("", "namespaces"):
            self.enqueue(("", meta["name"]))
        elif rt.namespaced and event.type in ("DELETED", "MODIFIED"):
            ns = self.store.peek(self.namespaces, None, meta.get("namespace", ""))
            if ns is not None and ns["metadata"].get("deletionTimestamp"):
                self.enqueue(("", meta["namespace"]))

    def sync(self, key: Key) -> None:
        name = key[1]
        ns = self.store.peek(self.namespaces, None, name)
        if ns is None:
            return
        if not ns["metadata"].get("deletionTimestamp"):
            return
        remaining: dict[str, int] = {}
        finalizers: dict[str, int] = {}
        for rt in self.store.types():
            if not rt.namespaced:
                continue
            for obj in list(self.store.iter(rt, name)):
                if not obj["metadata"].get("deletionTimestamp"):
                    try:
                        self.store.delete(rt, name, obj["metadata"]["name"])
                    except errors.ApiError as exc:
                        if exc.code != 404:
                            raise
            for obj in self.store.iter(rt, name):  # what deletion left: objects held by finalizers
                remaining[f"{rt.plural}.{rt.group}"] = remaining.get(f"{rt.plural}.{rt.group}", 0) + 1
                for finalizer in obj["metadata"].get("finalizers") or []:
                    finalizers[finalizer] = finalizers.get(finalizer, 0) + 1
        if remaining:
            self._set_conditions(ns, deletion_conditions(remaining, finalizers))
            # Each change to a remaining object (finalizer removed, object gone) wakes this again; the timer is a
            # safety net.
            self.later(key, 1.0)
            return
        self.store.finalize_namespace(name)

    def _set_conditions(self, ns: Obj, wanted: dict[str, tuple[str, str, str]]) -> None:
        """namespaceConditionUpdater.Update: missing conditions are added, changed ones replaced (with a new
        lastTransitionTime); nothing is written when status, reason and message all stay."""
        status = clone(ns.get("status") or {})
        conditions: list[Obj] = status.get("conditions") or []
        by_type = {c.get("type"): c for c in conditions}
        changed = False
        stamp = now_rfc3339(self.store.clock)
        for kind, _, _ in _OK_CONDITIONS:
            value, reason, message = wanted[kind]
            fresh = {
                "type": kind,
                "status": value,
                "lastTransitionTime": stamp,
                "reason": reason,
                "message": message,
            }
            old = by_type.get(kind)
            if old is None:
                conditions.append(fresh)
                changed = True
            elif (old.get("status"), old.get("reason"), old.get("message")) != (value, reason, message):
                old.clear()
                old.update(fresh)
                changed = True
        if not changed:
            return
        status["conditions"] = conditions
        updated = clone(ns)
        updated["status"] = status
        self.store.update(self.namespaces, None, ns["metadata"]["name"], updated, subresource="status")
