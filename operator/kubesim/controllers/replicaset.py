"""The ReplicaSet controller: pods from the template with controller references, surplus deleted (not-ready first),
status counted (availableReplicas honours minReadySeconds)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubesim.api.resources import ResourceType
from kubesim.api.selectors import matches_label_selector
from kubesim.controllers import events
from kubesim.controllers.base import Controller, Key, controller_ref, key_of, owner_reference
from kubesim.storage.objects import clone
from kubesim.storage.store import Store
from kubesim.storage.watch import Event

Obj = dict[str, Any]


def pod_ready_since(pod: Obj) -> float | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready" and cond.get("status") == "True":
            stamp = cond.get("lastTransitionTime")
            return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() if stamp else 0.0
    return None


_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_rank(pod: Obj) -> tuple[int, int, int, float, int, float]:
    """Which surplus pod goes first (controller_utils ActivePods ordering): unscheduled, pending, not ready,
    ready for the shortest time, most restarts, newest."""
    status = pod.get("status") or {}
    since = pod_ready_since(pod)
    restarts = sum(int(c.get("restartCount", 0)) for c in status.get("containerStatuses") or [])
    created = datetime.fromisoformat(str(pod["metadata"]["creationTimestamp"]).replace("Z", "+00:00"))
    return (
        1 if (pod.get("spec") or {}).get("nodeName") else 0,
        _PHASE_RANK.get(str(status.get("phase", "Pending")), 0),
        0 if since is None else 1,
        -(since or 0.0),
        -restarts,
        -created.timestamp(),
    )


def _claims(rs: Obj, pod: Obj) -> bool:
    """Whether ``rs`` may adopt ``pod`` at all: both alive, the pod not finished, the selector not empty."""
    phase = (pod.get("status") or {}).get("phase")
    return bool(
        (rs["spec"].get("selector") or {})
        and not rs["metadata"].get("deletionTimestamp")
        and not pod["metadata"].get("deletionTimestamp")
        and phase not in ("Succeeded", "Failed")
    )


class ReplicaSetController(Controller):
    """Also the ReplicationController's controller (``ReplicationManager`` is the ReplicaSet controller with a
    map selector): a subclass names the resource, kind, event source and how the selector reads."""

    name = "replicaset"
    resource = ("apps", "replicasets")
    kind = "ReplicaSet"
    component = "replicaset-controller"

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.replicasets = store.require(*self.resource)
        self.pods = store.require("", "pods")

    def selector(self, rs: Obj) -> Obj:
        """The LabelSelector of ``rs``."""
        return dict(rs["spec"].get("selector") or {})

    def on_event(self, rt: ResourceType, event: Event) -> None:
        if rt.key == self.resource:
            self.enqueue(key_of(event.object))
        elif rt.key == ("", "pods"):
            ref = controller_ref(event.object)
            ns = event.object["metadata"].get("namespace", "")
            if ref and ref.get("kind") == self.kind:
                self.enqueue((ns, ref["name"]))
            elif ref is None and event.type != "DELETED":
                # An orphan pod: every ReplicaSet whose selector matches may adopt it.
                labels = event.object["metadata"].get("labels") or {}
                for rs in self.store.iter(self.replicasets, ns):
                    if _claims(rs, event.object) and matches_label_selector(self.selector(rs), labels):
                        self.enqueue(key_of(rs))

    def sync(self, key: Key) -> None:
        ns, name = key
        rs = self.store.peek(self.replicasets, ns, name)
        if rs is None or rs["metadata"].get("deletionTimestamp"):
            return
        self._adopt(rs)
        uid = rs["metadata"]["uid"]
        pods = [
            p
            for p in self.store.iter(self.pods, ns)
            if (controller_ref(p) or {}).get("uid") == uid and not p["metadata"].get("deletionTimestamp")
        ]
        want = int(rs["spec"].get("replicas", 0))
        if len(pods) < want:
            for _ in range(want - len(pods)):
                self._create_pod(rs)
        elif len(pods) > want:
            for pod in sorted(pods, key=deletion_rank)[: len(pods) - want]:
                self.store.delete(self.pods, ns, pod["metadata"]["name"])
                message = f"Deleted pod: {pod['metadata']['name']}"
                events.record(self.store, rs, "SuccessfulDelete", message, self.component)
        pods = [
            p
            for p in self.store.iter(self.pods, ns)
            if (controller_ref(p) or {}).get("uid") == uid and not p["metadata"].get("deletionTimestamp")
        ]
        min_ready = int(rs["spec"].get("minReadySeconds", 0))
        now = self.store.clock()
        ready = available = 0
        for pod in pods:
            since = pod_ready_since(pod)
            if since is None:
                continue
            ready += 1
            if since + min_ready <= now:
                available += 1
            else:
                self.later(key, since + min_ready - now + 0.05)
        status: Obj = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": available,
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")}
        if status != (rs.get("status") or {}):
            updated = clone(rs)
            updated["status"] = status
            self.store.update(self.replicasets, ns, name, updated, subresource="status")

    def _adopt(self, rs: Obj) -> None:
        """ClaimPods: active pods without a controller whose labels match the selector become this RS's."""
        ns = rs["metadata"]["namespace"]
        for pod in list(self.store.iter(self.pods, ns)):
            labels = pod["metadata"].get("labels") or {}
            if (
                controller_ref(pod) is None
                and _claims(rs, pod)
                and matches_label_selector(self.selector(rs), labels)
            ):
                adopted = clone(pod)
                adopted["metadata"]["ownerReferences"] = [
                    *(pod["metadata"].get("ownerReferences") or []),
                    owner_reference(rs),
                ]
                self.store.update(self.pods, ns, pod["metadata"]["name"], adopted)

    def _create_pod(self, rs: Obj) -> None:
        template = clone(rs["spec"]["template"])
        meta = template.get("metadata") or {}
        pod: Obj = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "generateName": f"{rs['metadata']['name']}-",
                "namespace": rs["metadata"]["namespace"],
                "labels": meta.get("labels") or {},
                "annotations": meta.get("annotations") or {},
                "ownerReferences": [owner_reference(rs)],
            },
            "spec": template.get("spec") or {},
        }
        if not pod["metadata"]["annotations"]:
            del pod["metadata"]["annotations"]
        created = self.store.create(self.pods, rs["metadata"]["namespace"], pod)
        message = f"Created pod: {created['metadata']['name']}"
        events.record(self.store, rs, "SuccessfulCreate", message, self.component)


class ReplicationControllerController(ReplicaSetController):
    """The ReplicationController's: its selector is a plain label map."""

    name = "replicationcontroller"
    resource = ("", "replicationcontrollers")
    kind = "ReplicationController"
    component = "replication-controller"

    def selector(self, rs: Obj) -> Obj:
        labels = rs["spec"].get("selector") or {}
        return {"matchLabels": dict(labels)} if labels else {}
