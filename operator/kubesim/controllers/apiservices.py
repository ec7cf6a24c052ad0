"""The aggregator's local APIServices (``kube-aggregator``'s autoregister and crdregistration controllers): one
``apiregistration.k8s.io/v1`` APIService per served group version, ``v1.`` for the core group, Available because
it is served locally; the versions of custom resources come and go with their CRDs."""

from __future__ import annotations

from typing import Any

from kubesim.api.resources import ResourceType
from kubesim.controllers.base import Controller, Key
from kubesim.storage.objects import clone, now_rfc3339
from kubesim.storage.store import Store
from kubesim.storage.watch import Event

Obj = dict[str, Any]
AUTOMANAGED = "kube-aggregator.kubernetes.io/automanaged"
KEY: Key = ("", "*")
_PRIORITIES = {
    "": (18000, 1),
    "apps": (17800, 15),
    "events.k8s.io": (17750, 15),
    "authentication.k8s.io": (17700, 15),
    "authorization.k8s.io": (17600, 15),
    "autoscaling": (17500, 15),
    "batch": (17400, 15),
    "certificates.k8s.io": (17300, 15),
    "networking.k8s.io": (17200, 15),
    "policy": (17100, 15),
    "rbac.authorization.k8s.io": (17000, 15),
    "storage.k8s.io": (16800, 15),
    "admissionregistration.k8s.io": (16700, 15),
    "apiextensions.k8s.io": (16700, 15),
    "scheduling.k8s.io": (16600, 15),
    "coordination.k8s.io": (16500, 15),
    "node.k8s.io": (16300, 15),
    "discovery.k8s.io": (16200, 15),
    "resource.k8s.io": (16200, 21),
    "flowcontrol.apiserver.k8s.io": (16100, 21),
}
"""groupPriorityMinimum and versionPriority of the built-in v1 groups (the aggregator's apiVersionPriorities);
a custom resource's group gets 1000 and 100."""
_NOT_REGISTERED = frozenset({"apiregistration.k8s.io"})


def wanted(types: list[ResourceType]) -> dict[str, Obj]:
    """The APIServices the served types call for, by name."""
    out: dict[str, Obj] = {}
    for rt in types:
        if rt.group in _NOT_REGISTERED:
            continue
        for version in rt.served_versions or (rt.version,):
            name = f"{version}.{rt.group}"
            minimum, priority = (1000, 100) if rt.is_custom else _PRIORITIES.get(rt.group, (1000, 100))
            spec: Obj = {"group": rt.group} if rt.group else {}
            spec |= {"groupPriorityMinimum": minimum, "version": version, "versionPriority": priority}
            labels = {AUTOMANAGED: "true" if rt.is_custom else "onstart"}
            out[name] = {
                "apiVersion": "apiregistration.k8s.io/v1",
                "kind": "APIService",
                "metadata": {"name": name, "labels": labels},
                "spec": spec,
            }
    return out


class APIServiceRegistrar(Controller):
    name = "apiservices"

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.services = store.require("apiregistration.k8s.io", "apiservices")

    def on_event(self, rt: ResourceType, event: Event) -> None:
        if rt.key in (("apiextensions.k8s.io", "customresourcedefinitions"), self.services.key):
            self.enqueue(KEY)

    def replay(self) -> None:
        self.enqueue(KEY)

    def sync(self, key: Key) -> None:
        want = wanted(list(self.store.types()))
        for name, body in want.items():
            existing = self.store.peek(self.services, None, name)
            if existing is None:
                existing = self.store.create(self.services, None, body)
            if not (existing.get("status") or {}).get("conditions"):
                self._available(existing)
        for obj in list(self.store.iter(self.services)):
            managed = (obj["metadata"].get("labels") or {}).get(AUTOMANAGED) == "true"
            if managed and obj["metadata"]["name"] not in want:
                self.store.delete(self.services, None, obj["metadata"]["name"])

    def _available(self, obj: Obj) -> None:
        updated = clone(obj)
        condition = {
            "type": "Available",
            "status": "True",
            "lastTransitionTime": now_rfc3339(self.store.clock),
            "reason": "Local",
            "message": "Local APIServices are always available",
        }
        updated["status"] = {"conditions": [condition]}
        self.store.update(self.services, None, obj["metadata"]["name"], updated, subresource="status")
