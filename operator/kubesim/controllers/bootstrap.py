"""The controllers that keep a cluster's bootstrap objects, as kube-controller-manager's do:

- the service-account controller: every namespace that is not terminating has a ``default`` ServiceAccount
  (created again when deleted);
- the root-CA publisher: every such namespace has the ``kube-root-ca.crt`` ConfigMap holding the CA clients verify
  the API server with (created again when deleted, its data and annotation put back when changed);
- the ClusterRole aggregation controller: a ClusterRole with an ``aggregationRule`` (``admin``, ``edit``, ``view``)
  has the rules of every ClusterRole its selectors match, in name order, each rule once, written by server-side
  apply as ``clusterrole-aggregation-controller``.
"""

from __future__ import annotations

from typing import Any

from kubesim.api import empty_objects, managed_fields
from kubesim.api.resources import ResourceType
from kubesim.api.selectors import matches_label_selector
from kubesim.controllers.base import Controller, Key
from kubesim.storage.objects import clone, now_rfc3339
from kubesim.storage.store import Store
from kubesim.storage.watch import Event

Obj = dict[str, Any]
ROOT_CA_NAME = "kube-root-ca.crt"
ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the "
    "internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of "
    "Kubernetes clusters."
)
AGGREGATOR = "clusterrole-aggregation-controller"


def _active(store: Store, namespaces: ResourceType, name: str) -> bool:
    ns = store.peek(namespaces, None, name)
    return ns is not None and not ns["metadata"].get("deletionTimestamp")


class ServiceAccountController(Controller):
    """A ``default`` ServiceAccount in every active namespace."""

    name = "serviceaccount"

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.namespaces = store.require("", "namespaces")
        self.serviceaccounts = store.require("", "serviceaccounts")

    def on_event(self, rt: ResourceType, event: Event) -> None:
        meta = event.object.get("metadata", {})
        if rt.key == ("", "namespaces") and event.type != "DELETED":
            self.enqueue(("", meta["name"]))
        elif rt.key == ("", "serviceaccounts") and event.type == "DELETED" and meta.get("name") == "default":
            self.enqueue(("", meta.get("namespace", "")))

    def sync(self, key: Key) -> None:
        name = key[1]
        if _active(self.store, self.namespaces, name) and not self.store.peek(
            self.serviceaccounts, name, "default"
        ):
            self.store.create(self.serviceaccounts, name, {"metadata": {"name": "default"}})


class RootCAPublisher(Controller):
    """The ``kube-root-ca.crt`` ConfigMap in every active namespace, with ``ca.crt``: the CA kubesim serves with."""

    name = "root-ca-cert-publisher"

    def __init__(self, store: Store, root_ca: str) -> None:
        super().__init__(store)
        self.root_ca = root_ca
        self.namespaces = store.require("", "namespaces")
        self.configmaps = store.require("", "configmaps")

    def on_event(self, rt: ResourceType, event: Event) -> None:
        meta = event.object.get("metadata", {})
        if rt.key == ("", "namespaces") and event.type != "DELETED":
            self.enqueue(("", meta["name"]))
        elif rt.key == ("", "configmaps") and meta.get("name") == ROOT_CA_NAME and event.type != "ADDED":
            self.enqueue(("", meta.get("namespace", "")))

    def sync(self, key: Key) -> None:
        namespace = key[1]
        if not _active(self.store, self.namespaces, namespace):
            return
        live = self.store.peek(self.configmaps, namespace, ROOT_CA_NAME)
        data = {"ca.crt": self.root_ca}
        if live is None:
            wanted: Obj = {
                "metadata": {
                    "name": ROOT_CA_NAME,
                    "annotations": {"kubernetes.io/description": ROOT_CA_DESCRIPTION},
                },
                "data": data,
            }
            self._stamp(None, wanted)
            self.store.create(self.configmaps, namespace, wanted)
            return
        annotations = live["metadata"].get("annotations") or {}
        if live.get("data") == data and annotations.get("kubernetes.io/description") == ROOT_CA_DESCRIPTION:
            return
        updated = clone(live)
        updated["data"] = data
        updated["metadata"]["annotations"] = {**annotations, "kubernetes.io/description": ROOT_CA_DESCRIPTION}
        self._stamp(live, updated)
        self.store.update(self.configmaps, namespace, ROOT_CA_NAME, updated)

    def _stamp(self, live: Obj | None, obj: Obj) -> None:
        """managedFields as kube-controller-manager's update leaves them."""
        old = (live or {}).get("metadata", {}).get("managedFields")
        obj["metadata"]["managedFields"] = managed_fields.record(
            old,
            live,
            obj,
            "kube-controller-manager",
            "Update",
            "v1",
            None,
            now_rfc3339(self.store.clock),
            present=empty_objects.zero_object_paths(("", "configmaps"), False),
        )


def aggregated_rules(role: Obj, roles: list[Obj]) -> list[Obj]:
    """The rules of an aggregated ClusterRole: for each selector in turn, the matching roles (itself excepted) in
    name order, each rule once (clusterroleaggregation_controller.syncClusterRole)."""
    rules: list[Obj] = []
    name = role["metadata"]["name"]
    ordered = sorted(roles, key=lambda r: str(r["metadata"]["name"]))
    for selector in (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []:
        for other in ordered:
            if other["metadata"]["name"] == name:
                continue
            if not matches_label_selector(selector, other["metadata"].get("labels") or {}):
                continue
            for rule in other.get("rules") or []:
                if rule not in rules:
                    rules.append(clone(rule))
    return rules


class ClusterRoleAggregator(Controller):
    name = AGGREGATOR

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.clusterroles = store.require("rbac.authorization.k8s.io", "clusterroles")

    def on_event(self, rt: ResourceType, event: Event) -> None:
        if rt.key != self.clusterroles.key:
            return
        for role in self.store.iter(self.clusterroles):  # any change may concern every aggregated role
            if role.get("aggregationRule"):
                self.enqueue(("", role["metadata"]["name"]))

    def sync(self, key: Key) -> None:
        role = self.store.peek(self.clusterroles, None, key[1])
        if role is None or not role.get("aggregationRule"):
            return
        rules = aggregated_rules(role, list(self.store.iter(self.clusterroles)))
        if rules == (role.get("rules") or []):
            return
        updated = {k: v for k, v in clone(role).items() if k not in ("rules", "aggregationRule")}
        updated["rules"] = rules  # the real key order: rules before aggregationRule
        updated["aggregationRule"] = clone(role["aggregationRule"])
        entries = [
            e for e in updated["metadata"].get("managedFields") or [] if e.get("manager") != AGGREGATOR
        ]
        entries.insert(
            0,
            {
                "manager": AGGREGATOR,
                "operation": "Apply",
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "time": now_rfc3339(self.store.clock),
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:rules": {}},
            },
        )
        updated["metadata"]["managedFields"] = entries
        self.store.update(self.clusterroles, None, key[1], updated)
