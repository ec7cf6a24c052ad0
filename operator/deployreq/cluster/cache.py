"""What the operator knows of the cluster, plus the objects it wrote itself and has not seen back.

DeploymentRequests come from kopf's index, which kopf fills before any handler runs. Deployments, ReplicaSets and
Pods come from the operator's informers (:mod:`deployreq.cluster.informer`), which have listed once before kopf starts
handling anything. After each write the operator remembers the object the API returned, since the watch event that
carries it may not have arrived yet; whichever copy has the higher resourceVersion wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from deployreq.api import approval, names
from deployreq.api.policy import DeployPolicy
from deployreq.api.request import Request, resource_version
from deployreq.cluster.informer import Mirror
from deployreq.cluster.policies import Policies

Obj = dict[str, Any]
Index = Mapping[str, Iterable[Obj]]


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def slim(body: Mapping[str, Any]) -> Obj:
    """The parts of an object worth keeping in memory: managedFields dropped, and for a DeploymentRequest the copy
    of its whole spec that ``kubectl apply`` (CI, Argo CD) leaves in an annotation, which nothing here reads. A
    Deployment keeps it: ``rollout undo`` carries the Deployment's own annotations over."""
    meta = {k: v for k, v in (body.get("metadata") or {}).items() if k != "managedFields"}
    annotations = meta.get("annotations") or {}
    if body.get("kind") == names.KIND and LAST_APPLIED in annotations:
        meta["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    return {**body, "metadata": meta}


def _newer(a: Obj | None, b: Obj | None) -> Obj | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if resource_version(a) >= resource_version(b) else b


class Cache:
    def __init__(self) -> None:
        self.requests_index: Index | None = None
        self.deployments = Mirror()
        self.replicasets = Mirror()
        self.pods = Mirror()
        # Mirrored only once a request names a StatefulSet or DaemonSet (cluster/informer.OnDemand).
        self.statefulsets = Mirror()
        self.daemonsets = Mirror()
        self.controllerrevisions = Mirror()
        self.deployapprovals = Mirror()
        self.policies = Policies()
        """The DeployPolicies and Namespaces mirrored (empty: no policy governs anything)."""
        # namespace -> (uid, resourceVersion) -> the approval parsed from that body
        self._approvals: dict[str, dict[tuple[str, int], approval.Approval | None]] = {}
        self._written: dict[str, Obj] = {}  # uid -> last body we wrote
        self._parsed: dict[
            str, dict[str, Request]
        ] = {}  # namespace -> uid -> the request parsed from its body

    def attach(self, indexes: Mapping[str, Any]) -> None:
        """Take kopf's index of requests (a live view) from a handler's keyword arguments."""
        self.requests_index = indexes.get("requests_by_namespace", self.requests_index)

    def remember(self, body: Obj) -> None:
        uid = body.get("metadata", {}).get("uid")
        if uid:
            self._written[uid] = slim(body)

    def forget(self, uid: str) -> None:
        self._written.pop(uid, None)

    def _fresh(self, body: Obj) -> Obj:
        uid = body.get("metadata", {}).get("uid", "")
        written = self._written.get(uid)
        best = _newer(written, body)
        if best is body and written is not None:
            del self._written[uid]
        return best or body

    @staticmethod
    def _in(index: Index | None, namespace: str) -> list[Obj]:
        if index is None:
            return []
        try:
            return list(index.get(namespace, ()))
        except KeyError:
            return []

    def requests(self, namespace: str) -> list[Request]:
        """The namespace's requests, each body parsed once (a body seen before gives the same Request)."""
        before = self._parsed.get(namespace, {})
        parsed: dict[str, Request] = {}
        result = []
        for body in self._in(self.requests_index, namespace):
            fresh = self._fresh(body)
            known = before.get(str(fresh.get("metadata", {}).get("uid", "")))
            req = known if known is not None and known.body is fresh else Request.parse(fresh)
            parsed[req.uid] = req
            result.append(req)
        self._parsed[namespace] = parsed
        return result

    def request_namespaces(self) -> list[str]:
        return list(self.requests_index.keys()) if self.requests_index is not None else []

    def deployment(self, namespace: str, name: str) -> Obj | None:
        body = self.deployments.get(namespace, name)
        return None if body is None else self._fresh(body)

    def workload(self, namespace: str, kind: str, name: str) -> Obj | None:
        """A Deployment, StatefulSet or DaemonSet (``kind`` as the API names it), our own last write if newer."""
        mirror = {"StatefulSet": self.statefulsets, "DaemonSet": self.daemonsets}.get(kind, self.deployments)
        body = mirror.get(namespace, name)
        return None if body is None else self._fresh(body)

    def revisions_of(self, namespace: str, owner_uid: str) -> list[Obj]:
        """The ControllerRevisions a StatefulSet or DaemonSet controls."""
        return self._owned(self.controllerrevisions, namespace, owner_uid)

    def replicasets_of(self, namespace: str, owner_uid: str) -> list[Obj]:
        return self._owned(self.replicasets, namespace, owner_uid)

    @staticmethod
    def _owned(mirror: Mirror, namespace: str, owner_uid: str) -> list[Obj]:
        return [
            b
            for b in mirror.in_namespace(namespace)
            if any(
                r.get("uid") == owner_uid and r.get("controller")
                for r in b.get("metadata", {}).get("ownerReferences") or []
            )
        ]

    def pods_of(self, namespace: str, owner_uids: set[str]) -> list[Obj]:
        return [
            b
            for b in self.pods.in_namespace(namespace)
            if any(r.get("uid") in owner_uids for r in b.get("metadata", {}).get("ownerReferences") or [])
        ]

    def approvals(self, namespace: str) -> list[approval.Approval]:
        """The namespace's DeployApprovals, each body version parsed once (one whose spec is not an approval's, as
        only a missing CRD schema allows, is left out)."""
        before = self._approvals.get(namespace, {})
        seen: dict[tuple[str, int], approval.Approval | None] = {}
        for body in self.deployapprovals.in_namespace(namespace):
            key = (str(body.get("metadata", {}).get("uid", "")), resource_version(body))
            seen[key] = before[key] if key in before else approval.parse(body)
        self._approvals[namespace] = seen
        return [parsed for parsed in seen.values() if parsed is not None]

    def policies_for(self, namespace: str) -> list[DeployPolicy]:
        """The valid DeployPolicies governing the namespace, by name (cluster/policies.py)."""
        return self.policies.governing(namespace)
