"""The ReplicaSet controller: pods from the template with controller references, surplus deleted (not-ready first),
status counted (availableReplicas honours minReadySeconds)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubesim.api.resources import ResourceType
from kubesim.api.selectors import matches_label_selector
from kubesim.controllers import events
from kubesim.controllers.base import Key, OwnerController, controller_ref, key_of, owner_reference
from kubesim.storage.objects import clone
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


class ReplicaSetController(OwnerController):
    """Also the ReplicationController's controller (``ReplicationManager`` is the ReplicaSet controller with a
    map selector): a subclass names the resource, kind, event source and how the selector reads."""

    name = "replicaset"
    owner = ("apps", "replicasets")
    owner_kind = "ReplicaSet"
    component = "replicaset-controller"

    def selector(self, rs: Obj) -> Obj:
        """The LabelSelector of ``rs``."""
        return dict(rs["spec"].get("selector") or {})

    def on_event(self, rt: ResourceType, event: Event) -> None:
        super().on_event(rt, event)
        if rt.key == self.child and event.type != "DELETED" and controller_ref(event.object) is None:
            # An orphan pod: every ReplicaSet whose selector matches may adopt it.
            ns = event.object["metadata"].get("namespace", "")
            labels = event.object["metadata"].get("labels") or {}
            for rs in self.store.iter(self.owners, ns):
                if _claims(rs, event.object) and matches_label_selector(self.selector(rs), labels):
                    self.enqueue(key_of(rs))

    def sync(self, key: Key) -> None:
        ns = key[0]
        rs = self.live_owner(key)
        if rs is None:
            return
        self._adopt(rs)
        pods = self._live_pods(rs)
        want = int(rs["spec"].get("replicas", 0))
        if len(pods) < want:
            for _ in range(want - len(pods)):
                self._create_pod(rs)
        elif len(pods) > want:
            for pod in sorted(pods, key=deletion_rank)[: len(pods) - want]:
                self.store.delete(self.children, ns, pod["metadata"]["name"])
                message = f"Deleted pod: {pod['metadata']['name']}"
                events.record(self.store, rs, "SuccessfulDelete", message, self.component)
        pods = self._live_pods(rs)
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
        self.write_status(
            rs, {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")}
        )

    def _live_pods(self, rs: Obj) -> list[Obj]:
        return [p for p in self.children_of(rs) if not p["metadata"].get("deletionTimestamp")]

    def _adopt(self, rs: Obj) -> None:
        """ClaimPods: active pods without a controller whose labels match the selector become this RS's."""
        ns = rs["metadata"]["namespace"]
        for pod in list(self.store.iter(self.children, ns)):
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
                self.store.update(self.children, ns, pod["metadata"]["name"], adopted)

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
        created = self.store.create(self.children, rs["metadata"]["namespace"], pod)
        message = f"Created pod: {created['metadata']['name']}"
        events.record(self.store, rs, "SuccessfulCreate", message, self.component)


class ReplicationControllerController(ReplicaSetController):
    """The ReplicationController's: its selector is a plain label map."""

    name = "replicationcontroller"
    owner = ("", "replicationcontrollers")
    owner_kind = "ReplicationController"
    component = "replication-controller"

    def selector(self, rs: Obj) -> Obj:
        labels = rs["spec"].get("selector") or {}
        return {"matchLabels": dict(labels)} if labels else {}
