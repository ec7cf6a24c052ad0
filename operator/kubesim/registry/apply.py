"""Server-side apply and managedFields tracking for writes, on top of :mod:`kubesim.api.managed_fields`.

An Apply merges the applied configuration into the live object (associative lists by their merge keys), then drops
the fields this manager applied last time but no longer applies, unless another manager also owns them; ownership
conflicts raise the real 409 (see ``managed_fields.record``)."""

from __future__ import annotations

import json
import time
from typing import Any

from kubesim.api import empty_objects, errors, managed_fields
from kubesim.api.managed_fields import Path
from kubesim.api.merge_keys import APPLY_KEY_DEFAULTS
from kubesim.api.resources import ResourceType, storage_version
from kubesim.registry.patching import strategic_merge
from kubesim.storage.objects import clone, now_rfc3339

Obj = dict[str, Any]


def _entries(obj: Obj | None) -> list[Obj]:
    return list(((obj or {}).get("metadata") or {}).get("managedFields") or [])


def _owned(entry: Obj) -> set[Path]:
    return managed_fields.owned_paths(entry.get("fieldsV1") or {})


def _item_matches(item: Any, part: str) -> bool:
    if part.startswith("k:"):
        wanted = json.loads(part[2:])
        return isinstance(item, dict) and all(
            item.get(k, APPLY_KEY_DEFAULTS.get(k)) == v for k, v in wanted.items()
        )
    return bool(part.startswith("v:") and item == json.loads(part[2:]))


def _remove(node: Any, path: Path) -> None:
    """Delete the field (or list item) at a FieldsV1 path from ``node``, if it is there."""
    if not path:
        return
    part, rest = path[0], path[1:]
    if part.startswith("f:") and isinstance(node, dict):
        key = part[2:]
        if key not in node:
            return
        if not rest:
            del node[key]
        elif rest[0].startswith(("k:", "v:")) and isinstance(node[key], list):
            items = node[key]
            for i, item in enumerate(items):
                if _item_matches(item, rest[0]):
                    if len(rest) == 1 or rest[1:] == (".",):
                        items.pop(i)
                    else:
                        _remove(item, rest[1:])
                    break
        else:
            _remove(node[key], rest)


def _crd_schema(rt: ResourceType) -> Obj:
    if rt.crd is None:
        return {}
    version = storage_version(rt.crd)
    return dict(((version.get("schema") or {}).get("openAPIV3Schema")) or {})


def _schema_merge(live: Any, applied: Any, schema: Obj) -> Any:
    """Apply's merge for custom resources, led by the schema: maps merge, ``x-kubernetes-list-type: map`` lists
    merge items by their ``x-kubernetes-list-map-keys``, ``set`` lists take the union, other lists are atomic."""
    if isinstance(applied, dict) and isinstance(live, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        out = dict(live)
        for key, value in applied.items():
            sub = props.get(key) or (extra if isinstance(extra, dict) else {})
            out[key] = _schema_merge(live.get(key), value, sub) if key in live else clone(value)
        return out
    if isinstance(applied, list) and isinstance(live, list):
        list_type = schema.get("x-kubernetes-list-type")
        items = schema.get("items") or {}
        if list_type == "set":
            return list(live) + [v for v in applied if v not in live]
        if list_type == "map":
            keys = schema.get("x-kubernetes-list-map-keys") or []
            out_items = [clone(v) for v in live]
            for item in applied:
                ident = [item.get(k) for k in keys] if isinstance(item, dict) else None
                index = next(
                    (
                        i
                        for i, cur in enumerate(out_items)
                        if isinstance(cur, dict) and [cur.get(k) for k in keys] == ident
                    ),
                    None,
                )
                if index is None:
                    out_items.append(clone(item))
                else:
                    out_items[index] = _schema_merge(out_items[index], item, items)
            return out_items
    return clone(applied)


def _go(value: Any) -> str:
    """Go's %v of a decoded JSON value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    return str(value)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "list"
    return "numeric"


def typed_errors(value: Any, schema: Obj, path: str) -> list[tuple[str, str]]:
    """What structured-merge-diff refuses when it types an applied configuration against a custom resource's
    schema: (path, reason) pairs."""
    expected = schema.get("type")
    if (
        value is None
        or schema.get("x-kubernetes-int-or-string")
        or schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        return []
    if expected in ("integer", "number") and (isinstance(value, bool) or not isinstance(value, int | float)):
        return [(path, f"expected numeric (int or float), got {_kind(value)}")]
    if expected == "string" and not isinstance(value, str):
        if isinstance(value, dict | list):
            return [(path, f"expected string, got &{{{_go(value)}}}")]
        return [(path, f"expected string, got &value.valueUnstructured{{Value:{_go(value)}}}")]
    if expected == "boolean" and not isinstance(value, bool):
        return [(path, f"expected boolean, got {_kind(value)}")]
    if expected == "array" and not isinstance(value, list):
        return [(path, f"expected list, got &{{{_go(value)}}}")]
    if expected == "object" and not isinstance(value, dict):
        return [(path, f"expected map, got &{{{_go(value)}}}")]
    out: list[tuple[str, str]] = []
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = props.get(key) or (extra if isinstance(extra, dict) else None)
            if sub is not None:
                out += typed_errors(item, sub, f"{path}.{key}")
    elif isinstance(value, list):
        out += _typed_list_errors(value, schema, path)
    return out


def _typed_list_errors(value: list[Any], schema: Obj, path: str) -> list[tuple[str, str]]:
    """A list's items typed against ``items``; map lists' key fields and set members checked for duplicates."""
    items = schema.get("items") or {}
    list_type = schema.get("x-kubernetes-list-type")
    keys = list(schema.get("x-kubernetes-list-map-keys") or [])
    out: list[tuple[str, str]] = []
    seen: list[Any] = []
    for i, item in enumerate(value):
        if list_type == "map" and isinstance(item, dict):
            if not any(k in item for k in keys):
                quoted = ", ".join(json.dumps(k) for k in keys)
                out.append(
                    (
                        path,
                        f"element {i}: associative list with keys has an element that omits all key fields "
                        f"[{quoted}] (and doesn't have default values for any key fields)",
                    )
                )
                continue
            ident = {k: item[k] for k in keys if k in item}
            if ident in seen:
                shown = ",".join(f"{k}={json.dumps(v)}" for k, v in ident.items())
                out.append((path, f"duplicate entries for key [{shown}]"))
            seen.append(ident)
        elif list_type == "set":
            if item in seen:
                out.append((path, f"duplicate entries for key [={json.dumps(item)}]"))
            seen.append(item)
        out += typed_errors(item, items, f"{path}[{i}]" if list_type != "map" else path)
    return out


def check_typed(rt: ResourceType, applied: Obj, name: str) -> None:
    """500 ``failed to create typed patch object`` for an applied configuration its schema cannot type."""
    schema = _crd_schema(rt)
    props = schema.get("properties") or {}
    found: list[tuple[str, str]] = []
    for key, value in applied.items():
        if key not in ("apiVersion", "kind", "metadata") and key in props:
            found += typed_errors(value, props[key], f".{key}")
    if not found:
        return
    found.sort()
    detail = (
        f"{found[0][0]}: {found[0][1]}"
        if len(found) == 1
        else "errors:\n" + "\n".join(f"  {p}: {r}" for p, r in found)
    )
    raise errors.ApiError(
        500,
        "",
        f"failed to create typed patch object (/{name}; {rt.api_version}, Kind={rt.kind}): {detail}",
    )


def _set(node: Any, path: Path, value: Any) -> None:
    """Set a plain field path (``f:`` steps only) in ``node``."""
    if not path or not all(part.startswith("f:") for part in path):
        return
    for part in path[:-1]:
        if not isinstance(node, dict):
            return
        node = node.setdefault(part[2:], {})
    if isinstance(node, dict):
        node[path[-1][2:]] = value


def server_side_apply(
    rt: ResourceType,
    live: Obj | None,
    applied: Obj,
    manager: str,
    force: bool,
    *,
    stamp: str | None = None,
    subresource: str | None = None,
) -> Obj:
    """The object after ``manager`` applies ``applied`` (a copy; ``live`` is not mutated), managedFields
    included; 409 Conflict (``Apply failed with N conflict...``) unless ``force``. ``stamp``: the entry time
    (the server passes its clock's now). ``subresource``: ``status`` for an apply to /status, whose fields are
    tracked in entries of their own (``subresource: status``)."""
    applied = clone(applied)
    if rt.is_custom:
        check_typed(rt, applied, str((applied.get("metadata") or {}).get("name") or ""))
    merged: Obj
    if live is None:
        merged = clone(applied)
    elif rt.is_custom:
        merged = _schema_merge(clone(live), applied, _crd_schema(rt))
    else:
        merged = strategic_merge(clone(live), applied)
    entries = _entries(live)
    schema = _crd_schema(rt) if rt.is_custom else None
    applied_leaves = managed_fields.leaves(applied, subresource, schema)
    others = _drop_stale(merged, entries, manager, subresource, applied_leaves)
    if rt.is_custom:
        # lists this manager alone owns are its to set whole; associative merging keeps other managers' items
        for path, value in applied_leaves.items():
            if isinstance(value, list) and path not in others:
                _set(merged, path, clone(value))
    merged.setdefault("metadata", {})["managedFields"] = entries_after = managed_fields.record(
        entries,
        live,
        merged,
        manager,
        "Apply",
        rt.api_version,
        subresource,
        stamp or now_rfc3339(time.time),
        applied=applied,
        force=force,
        present=empty_objects.zero_object_paths(rt.key, rt.is_custom),
        schema=schema,
    )
    if not entries_after:
        del merged["metadata"]["managedFields"]  # the real server omits an empty list
    return merged


def _drop_stale(
    merged: Obj, entries: list[Obj], manager: str, subresource: str | None, applied_leaves: dict[Path, Any]
) -> set[Path]:
    """Remove from ``merged`` what this manager applied before and applies no more, unless another manager
    owns it too; answers what the other managers (of this subresource) own."""
    previous: set[Path] = set()
    others: set[Path] = set()
    sub = subresource or ""
    for entry in entries:
        if entry.get("subresource", "") != sub:
            continue
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            previous = _owned(entry)
        else:
            others |= _owned(entry)
    # A path still applied, or the parent of one that is (an empty map or list applied before, filled now),
    # is not stale.
    kept = {path[:i] for path in applied_leaves for i in range(1, len(path) + 1)}
    shared = {path[:i] for path in others for i in range(1, len(path) + 1)}
    for path in sorted(previous - kept - shared, key=lambda p: (len(p), p[-1] != ".")):
        _remove(merged, path)  # whole items before their fields
    return others


def record_update(
    rt: ResourceType,
    old: Obj | None,
    new: Obj,
    manager: str,
    subresource: str | None,
    *,
    stamp: str | None = None,
) -> Obj:
    """``new`` with metadata.managedFields updated for an Update (create, PUT or non-apply PATCH) by ``manager``."""
    new.setdefault("metadata", {})["managedFields"] = entries_after = managed_fields.record(
        _entries(old),
        old,
        new,
        manager,
        "Update",
        rt.api_version,
        subresource,
        stamp or now_rfc3339(time.time),
        present=empty_objects.zero_object_paths(rt.key, rt.is_custom),
        schema=_crd_schema(rt) if rt.is_custom else None,
    )
    if not entries_after:
        del new["metadata"]["managedFields"]  # the real server omits an empty list
    return new
