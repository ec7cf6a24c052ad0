"""PUT of an object or its status (apiserver's ``handlers/update.go``), and the subresources written through the
main object: a namespace's ``finalize`` and the ``scale`` of deployments and replicasets."""

from __future__ import annotations

from aiohttp import web

from kubesim.api import errors
from kubesim.api.selectors import selector_string
from kubesim.endpoints.codec import JSON, decode, decode_typed, json_response
from kubesim.endpoints.fieldmanager import manage
from kubesim.endpoints.request import ApiRequest
from kubesim.registry import patching
from kubesim.storage.objects import Obj
from kubesim.storage.store import Store


def update(store: Store, r: ApiRequest) -> web.Response:
    t = r.target
    obj = decode_typed(r.http.headers.get("Content-Type", JSON), t.rt, r.body)
    if t.subresource == "finalize":
        return json_response(finalize_namespace(store, r, obj))
    manage(r, store.clock, obj, store.peek(t.rt, t.namespace, r.name), "Update")
    return json_response(r.store_update(store, obj, owned=True))


def finalize_namespace(store: Store, r: ApiRequest, obj: Obj) -> Obj:
    t = r.target
    current = store.get(t.rt, None, r.name)
    current.setdefault("spec", {})["finalizers"] = (obj.get("spec") or {}).get("finalizers") or []
    # Through the main path (which keeps status): a /status write would keep the old spec.finalizers.
    return store.update(t.rt, None, r.name, current, strict=r.strict)


def scale(store: Store, r: ApiRequest) -> web.Response:
    """GET, PUT and PATCH of autoscaling/v1 Scale, read from and written to the object's spec.replicas."""
    t = r.target
    obj = store.get(t.rt, t.namespace, r.name)
    if r.verb in ("update", "patch"):
        current = scale_of(obj)
        if r.verb == "update":
            new_scale = decode(r.body)
        else:
            new_scale = patching.apply_patch(
                store.require("apps", "replicasets"), current, r.content_type, r.body
            )
        rv = (new_scale.get("metadata") or {}).get("resourceVersion")
        if rv and rv != obj["metadata"]["resourceVersion"]:
            raise errors.conflict(t.rt.plural, t.rt.group, r.name)
        obj.setdefault("spec", {})["replicas"] = int((new_scale.get("spec") or {}).get("replicas", 0))
        obj = store.update(t.rt, t.namespace, r.name, obj, user=r.user, strict=r.strict)
    return json_response(scale_of(obj))


def _label_selector(obj: Obj) -> Obj | None:
    """The selector as a LabelSelector (a ReplicationController's is a plain map)."""
    selector = (obj.get("spec") or {}).get("selector")
    if obj.get("kind") == "ReplicationController" and selector:
        return {"matchLabels": selector}
    return selector


def scale_of(obj: Obj) -> Obj:
    meta = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        # omitempty: spec.replicas 0 and an empty selector are absent
        "spec": {k: v for k, v in {"replicas": (obj.get("spec") or {}).get("replicas", 0)}.items() if v},
        "status": {
            k: v
            for k, v in {
                "replicas": (obj.get("status") or {}).get("replicas", 0),
                "selector": selector_string(_label_selector(obj)),
            }.items()
            if k == "replicas" or v
        },
    }
