"""The DaemonSet controller: a pod per Node that should run one, ControllerRevisions of the template, rolling
updates with maxUnavailable and maxSurge, status counted per Node (``pkg/controller/daemonset``)."""

from __future__ import annotations

from typing import Any

from kubesim.api.resources import ResourceType
from kubesim.controllers import daemonset_math as dsm
from kubesim.controllers import events
from kubesim.controllers.base import Key, OwnerController, key_of
from kubesim.controllers.deployment_math import template_hash
from kubesim.controllers.pods import is_running_and_ready, owned_pods, pod_from_template
from kubesim.controllers.revisions import History, patch_data
from kubesim.storage.store import Store
from kubesim.storage.watch import Event

Obj = dict[str, Any]
COMPONENT = "daemonset-controller"


class DaemonSetController(OwnerController):
    name = "daemonset"
    owner = ("apps", "daemonsets")
    owner_kind = "DaemonSet"

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.nodes = store.require("", "nodes")

    def on_event(self, rt: ResourceType, event: Event) -> None:
        super().on_event(rt, event)
        if rt.key == ("", "nodes") and event.type != "MODIFIED":
            for ds in self.store.iter(self.owners):
                self.enqueue(key_of(ds))

    def sync(self, key: Key) -> None:
        ds = self.live_owner(key)
        if ds is None:
            return
        history = History(self.store, ds)
        digest = self._revision(ds, history)
        nodes = list(self.store.iter(self.nodes))
        now = self.store.clock()
        create, delete = dsm.plan(ds, nodes, owned_pods(self.store, ds), digest, now)
        for name in delete:
            self.store.delete(self.children, key[0], name)
            events.record(self.store, ds, "SuccessfulDelete", f"Deleted pod: {name}", COMPONENT)
        for node in create:
            self._create_pod(ds, node, digest)
        live = owned_pods(self.store, ds)
        hashes = {digest, *(_labels(p).get(dsm.HASH_LABEL) for p in live)}
        history.truncate(
            {r["metadata"]["name"] for r in history.revisions if _labels(r).get(dsm.HASH_LABEL) in hashes}
        )
        status = dsm.status(ds, nodes, live, digest, now)
        self.write_status(ds, status)
        min_ready = int(ds["spec"].get("minReadySeconds") or 0)
        if min_ready and any(is_running_and_ready(p) for p in live):
            self.later(key, min_ready)

    def _revision(self, ds: Obj, history: History) -> str:
        """constructHistory: the revision of the current template (renumbered when an older one is reused)."""
        data = patch_data(ds)
        found = history.find(data)
        if found is not None:
            history.ensure(data, found["metadata"]["name"], {}, {})
            return str(_labels(found).get(dsm.HASH_LABEL, ""))
        collisions = int((ds.get("status") or {}).get("collisionCount") or 0)
        template = ds["spec"]["template"]
        while history.taken(f"{ds['metadata']['name']}-{template_hash(template, collisions)}"):
            collisions += 1
        digest = template_hash(template, collisions)
        labels = {**(template.get("metadata", {}).get("labels") or {}), dsm.HASH_LABEL: digest}
        history.ensure(
            data, f"{ds['metadata']['name']}-{digest}", labels, dict(ds["metadata"].get("annotations") or {})
        )
        return digest

    def _create_pod(self, ds: Obj, node: str, digest: str) -> None:
        generation = (ds["metadata"].get("annotations") or {}).get(dsm.TEMPLATE_GENERATION, "1")
        labels = {dsm.HASH_LABEL: digest, dsm.GENERATION_LABEL: str(generation)}
        pod = pod_from_template(ds, ds["spec"]["template"], labels)
        pod["spec"] = dsm.daemon_pod_spec(pod["spec"], node)
        created = self.store.create(self.children, ds["metadata"]["namespace"], pod)
        message = f"Created pod: {created['metadata']['name']}"
        events.record(self.store, ds, "SuccessfulCreate", message, COMPONENT)


def _labels(obj: Obj) -> dict[str, str]:
    return dict(obj["metadata"].get("labels") or {})
