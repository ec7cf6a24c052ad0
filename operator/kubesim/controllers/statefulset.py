"""The StatefulSet controller: ControllerRevisions of the template, pods ``<set>-N`` created and updated in
order, status with the current and update revisions (``pkg/controller/statefulset``)."""

from __future__ import annotations

from typing import Any

from kubesim.controllers import events
from kubesim.controllers import statefulset_math as sm
from kubesim.controllers.base import Key, OwnerController
from kubesim.controllers.pods import owned_pods, pod_from_template
from kubesim.controllers.revisions import History, patch_data, revision_hash

Obj = dict[str, Any]
HASH_LABEL = "controller.kubernetes.io/hash"
COMPONENT = "statefulset-controller"


class StatefulSetController(OwnerController):
    name = "statefulset"
    owner = ("apps", "statefulsets")
    owner_kind = "StatefulSet"

    def sync(self, key: Key) -> None:
        sts = self.live_owner(key)
        if sts is None:
            return
        history = History(self.store, sts)
        update, collisions = self._update_revision(sts, history)
        names = {r["metadata"]["name"] for r in history.revisions}
        recorded = str((sts.get("status") or {}).get("currentRevision") or "")
        current = recorded if recorded in names else update
        pods = {
            sm.ordinal(sts["metadata"]["name"], p["metadata"]["name"]): p for p in owned_pods(self.store, sts)
        }
        by_ordinal = {i: p for i, p in pods.items() if i is not None}
        for action in sm.next_actions(sts, by_ordinal, current, update):
            if action.verb == "create":
                self._create_pod(sts, history, action.ordinal, action.revision)
            else:
                self.store.delete(self.children, key[0], action.pod)
                message = f"delete Pod {action.pod} in StatefulSet {key[1]} successful"
                events.record(self.store, sts, "SuccessfulDelete", message, COMPONENT)
        live = owned_pods(self.store, sts)
        status = sm.status(sts, live, current, update, collisions, self.store.clock())
        history.truncate({status["currentRevision"], update, *(sm.revision_of(p) for p in live)})
        self.write_status(sts, status)
        min_ready = int(sts["spec"].get("minReadySeconds") or 0)
        if min_ready and status["availableReplicas"] < status.get("readyReplicas", 0):
            self.later(key, min_ready)

    def _update_revision(self, sts: Obj, history: History) -> tuple[str, int]:
        """The revision of the current template (created when new, renumbered on a rollback) and the collision
        count its name needed."""
        collisions = int((sts.get("status") or {}).get("collisionCount") or 0)
        data = patch_data(sts)
        found = history.find(data)
        if found is None:
            while history.taken(f"{sts['metadata']['name']}-{revision_hash(data, collisions)}"):
                collisions += 1
        digest = revision_hash(data, collisions)
        labels = {**(sts["spec"]["template"].get("metadata", {}).get("labels") or {}), HASH_LABEL: digest}
        annotations = dict(sts["metadata"].get("annotations") or {})
        revision = history.ensure(data, f"{sts['metadata']['name']}-{digest}", labels, annotations)
        return revision["metadata"]["name"], collisions

    def _create_pod(self, sts: Obj, history: History, index: int, revision: str) -> None:
        """newVersionedStatefulSetPod: the template of ``revision``, named ``<set>-<index>``, with its identity
        labels, hostname and subdomain."""
        template = sts["spec"]["template"]
        for r in history.revisions:
            if r["metadata"]["name"] == revision:
                template = {k: v for k, v in r["data"]["spec"]["template"].items() if k != "$patch"}
        name = f"{sts['metadata']['name']}-{index}"
        labels = {
            "statefulset.kubernetes.io/pod-name": name,
            "apps.kubernetes.io/pod-index": str(index),
            sm.REVISION_LABEL: revision,
        }
        pod = pod_from_template(sts, template, labels)
        pod["metadata"]["name"] = name
        pod["spec"]["hostname"] = name
        if sts["spec"].get("serviceName"):
            pod["spec"]["subdomain"] = sts["spec"]["serviceName"]
        self.store.create(self.children, sts["metadata"]["namespace"], pod)
        message = f"create Pod {name} in StatefulSet {sts['metadata']['name']} successful"
        events.record(self.store, sts, "SuccessfulCreate", message, COMPONENT)
