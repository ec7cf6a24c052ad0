"""What the workload controllers share about pods: readiness, availability, and a pod made from a template
(``controller.GetPodFromTemplate``)."""

from __future__ import annotations

from typing import Any

from kubesim.controllers.base import controller_ref, owner_reference
from kubesim.controllers.replicaset import pod_ready_since
from kubesim.storage.objects import clone
from kubesim.storage.store import Store

Obj = dict[str, Any]


def is_running_and_ready(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and pod_ready_since(pod) is not None


def is_available(pod: Obj, min_ready_seconds: int, now: float) -> bool:
    since = pod_ready_since(pod)
    return since is not None and since + min_ready_seconds <= now


def is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def owned_pods(store: Store, owner: Obj) -> list[Obj]:
    """The pods ``owner`` controls, those being deleted left out."""
    uid = owner["metadata"]["uid"]
    pods = store.require("", "pods")
    return [
        p
        for p in store.iter(pods, owner["metadata"]["namespace"])
        if (controller_ref(p) or {}).get("uid") == uid and not p["metadata"].get("deletionTimestamp")
    ]


def pod_from_template(owner: Obj, template: Obj, labels: dict[str, str]) -> Obj:
    """A new pod of ``owner``: the template's labels plus ``labels``, its annotations, ``<owner>-`` as
    generateName and the controller reference."""
    template = clone(template)
    meta = template.get("metadata") or {}
    pod_meta: Obj = {
        "generateName": f"{owner['metadata']['name']}-",
        "namespace": owner["metadata"]["namespace"],
        "labels": {**(meta.get("labels") or {}), **labels},
        "ownerReferences": [owner_reference(owner)],
    }
    if meta.get("annotations"):
        pod_meta["annotations"] = meta["annotations"]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": template.get("spec") or {}}
