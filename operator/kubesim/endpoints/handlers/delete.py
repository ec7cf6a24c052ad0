"""DELETE of one object and of a collection (apiserver's ``handlers/delete.go``): DeleteOptions from the body
or the query, the deleted object or a Status as the registry answers."""

from __future__ import annotations

import contextlib
import json

from aiohttp import web

from kubesim.api import errors
from kubesim.endpoints.codec import json_response
from kubesim.endpoints.handlers.get import predicate
from kubesim.endpoints.request import ApiRequest
from kubesim.storage.objects import Obj
from kubesim.storage.store import Store

# The registries whose DELETE answers the deleted object (genericregistry ReturnDeletedObject); every other kind
# answers a Status with details once the object is gone.
RETURN_DELETED_OBJECT = frozenset({("", "pods"), ("", "services"), ("", "serviceaccounts")})


def delete_options(request: web.Request, body: bytes) -> Obj:
    options: Obj = {}
    if body:
        with contextlib.suppress(ValueError):
            options = json.loads(body) or {}
    for key in ("propagationPolicy", "gracePeriodSeconds", "orphanDependents"):
        if key in request.query:
            options[key] = request.query[key]
    if str(options.get("orphanDependents")).lower() == "true":
        options["propagationPolicy"] = "Orphan"
    return options


def delete(store: Store, r: ApiRequest) -> web.Response:
    t = r.target
    name = r.name
    options = delete_options(r.http, r.body)
    pre = options.get("preconditions") or {}
    obj = store.delete(
        t.rt,
        t.namespace,
        name,
        propagation=options.get("propagationPolicy"),
        precondition_uid=pre.get("uid"),
        precondition_rv=pre.get("resourceVersion"),
        user=r.user,
        dry_run=r.dry_run or "All" in (options.get("dryRun") or []),
        requester=r.requester,
    )
    meta = obj["metadata"]
    if t.rt.key in RETURN_DELETED_OBJECT:
        return json_response(obj)
    kept = store.peek(t.rt, t.namespace, name)
    if meta.get("deletionTimestamp") and kept is not None and kept["metadata"].get("uid") == meta.get("uid"):
        return json_response(obj)  # finalizers keep it: the object, marked for deletion
    if r.dry_run and (meta.get("finalizers") or t.rt.key == ("", "namespaces")):
        return json_response(obj)
    return json_response(errors.deleted(t.rt.plural, t.rt.group, name, meta.get("uid", "")))


def delete_collection(store: Store, r: ApiRequest) -> web.Response:
    t = r.target
    selected = predicate(r.http, t.rt)
    if r.requester is not None:
        r.requester.collection = True
    deleted = []
    for obj in list(store.iter(t.rt, t.namespace)):
        if selected is None or selected(obj):
            meta = obj["metadata"]
            namespace, name = meta.get("namespace"), meta["name"]
            deleted.append(store.delete(t.rt, namespace, name, user=r.user, requester=r.requester))
    return json_response(
        {
            "kind": t.rt.list_kind,
            "apiVersion": t.rt.api_version,
            "metadata": {"resourceVersion": str(store.resource_version)},
            "items": deleted,
        }
    )
