"""The field manager of the write handlers (apiserver's ``endpoints/handlers/fieldmanager``): the decode-time
defaults, then the write recorded in ``metadata.managedFields``."""

from __future__ import annotations

from collections.abc import Callable

from kubesim.api import empty_objects, managed_fields, schema
from kubesim.api.resources import ResourceType, storage_version
from kubesim.endpoints.request import ApiRequest
from kubesim.registry import admissionpolicies, builtin_defaults
from kubesim.storage.objects import Obj, now_rfc3339


def manage(r: ApiRequest, clock: Callable[[], float], obj: Obj, live: Obj | None, operation: str) -> None:
    """Record the write in obj's metadata.managedFields (see kubesim.api.managed_fields); 409 on apply
    conflicts unless ``force``."""
    t = r.target
    manager = r.query("fieldManager") or managed_fields.manager_from_user_agent(
        r.http.headers.get("User-Agent", "")
    )
    if operation == "Update" and t.subresource is None and isinstance(obj.get("metadata", {}), dict):
        decode_defaults(t.rt, obj, prune=not r.strict)
    old = (live or {}).get("metadata", {}).get("managedFields")
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        return
    meta["managedFields"] = entries = managed_fields.record(
        old,
        live,
        obj,
        manager,
        operation,
        t.rt.api_version,
        t.subresource,
        now_rfc3339(clock),
        applied=None,
        force=r.bool_param("force"),
        present=empty_objects.zero_object_paths(t.rt.key, t.rt.is_custom),
        schema=crd_schema(t.rt),
    )
    if not entries:
        del meta["managedFields"]  # the real server omits an empty list


def crd_schema(rt: ResourceType) -> Obj | None:
    if rt.crd is None:
        return managed_fields.BUILTIN_SHAPES.get(rt.key)
    return dict((storage_version(rt.crd).get("schema") or {}).get("openAPIV3Schema") or {})


def decode_defaults(rt: ResourceType, obj: Obj, prune: bool = True) -> None:
    """The defaults the real server applies while decoding (before the field manager records the writer's
    fields): built-in SetDefaults_* and conversions, a custom resource's structural schema defaults."""
    if rt.crd is None:
        builtin_defaults.scheme_defaults(rt.key, obj)
        admissionpolicies.defaults(rt.key, obj)
        return
    root = (storage_version(rt.crd).get("schema") or {}).get("openAPIV3Schema") or {}
    props = root.get("properties") or {}
    for part, value in list(obj.items()):
        if part not in ("metadata", "apiVersion", "kind", "status") and part in props and value is not None:
            schema.apply_defaults(value, props[part])
            if prune:  # pruned fields are nobody's (strict validation refuses them in admission)
                obj[part] = schema.prune(value, props[part], part, [])
