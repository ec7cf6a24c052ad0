"""PATCH (apiserver's ``handlers/patch.go``): JSON, merge and strategic merge patches, and server-side apply,
which creates the object when it is absent."""

from __future__ import annotations

from aiohttp import web

from kubesim.api import errors
from kubesim.endpoints.codec import decode, json_response
from kubesim.endpoints.fieldmanager import manage
from kubesim.endpoints.request import ApiRequest
from kubesim.registry import apply, patching
from kubesim.storage.objects import now_rfc3339
from kubesim.storage.store import Store


def patch(store: Store, r: ApiRequest) -> web.Response:
    t = r.target
    if r.content_type.startswith(patching.APPLY):
        return _apply(store, r)
    live = store.get(t.rt, t.namespace, r.name)
    patched = patching.apply_patch(t.rt, live, r.content_type, r.body)
    manage(r, store.clock, patched, live, "Update")
    meta = patched.setdefault("metadata", {})
    if not meta.get("resourceVersion"):  # a patch is unconditional unless it names a resourceVersion
        meta["resourceVersion"] = live["metadata"]["resourceVersion"]
    return json_response(r.store_update(store, patched, owned=True))


def _apply(store: Store, r: ApiRequest) -> web.Response:
    t = r.target
    manager = r.query("fieldManager")
    if not manager:
        raise errors.invalid(
            "PatchOptions",
            "meta.k8s.io",
            "",
            [
                errors.Cause(
                    "fieldManager", "Required value: is required for apply patch", "FieldValueRequired"
                )
            ],
        )
    live = store.peek(t.rt, t.namespace, r.name)
    merged = apply.server_side_apply(
        t.rt,
        live,
        decode(r.body),
        manager,
        r.bool_param("force"),
        stamp=now_rfc3339(store.clock),
        subresource=t.subresource,
    )
    if live is None:
        merged.setdefault("metadata", {})["name"] = r.name
        created = store.create(
            t.rt,
            t.namespace,
            merged,
            user=r.user,
            dry_run=r.dry_run,
            strict=r.strict,
            copy=False,
            requester=r.requester,
        )
        return json_response(created, 201)
    merged.setdefault("metadata", {})["resourceVersion"] = live["metadata"]["resourceVersion"]
    return json_response(r.store_update(store, merged))
