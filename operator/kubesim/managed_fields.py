"""metadata.managedFields bookkeeping: one entry per (manager, operation, subresource) with the FieldsV1 set of
what that manager wrote. Simplified: the set is taken from the written object (for Apply, the applied
configuration), earlier owners are not stripped of fields they lost, and apply conflicts are not detected."""

from __future__ import annotations

import json
from typing import Any

from kubesim.merge_keys import DEFAULT_PORTS_KEY, MERGE_KEYS, PORTS_KEY_BY_PARENT

Obj = dict[str, Any]
_SKIP_META = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    }
)


def manager_from_user_agent(user_agent: str) -> str:
    """The default manager name the real server derives: the User-Agent up to its first '/'."""
    return (user_agent.split("/", 1)[0] or "unknown")[:128]


def _merge_key(field: str, parent: str) -> str | None:
    if field == "ports":
        return PORTS_KEY_BY_PARENT.get(parent, DEFAULT_PORTS_KEY)
    return MERGE_KEYS.get(field)


def _fields(value: Any, field: str = "", parent: str = "") -> Obj:
    if isinstance(value, dict):
        return {f"f:{k}": _fields(v, k, field) for k, v in value.items()}
    if isinstance(value, list):
        key = _merge_key(field, parent)
        if key == "":
            return {f"v:{json.dumps(item)}": {} for item in value}
        if key and all(isinstance(item, dict) and key in item for item in value):
            out: Obj = {}
            for item in value:
                entry = _fields(item, field, parent)
                out[f"k:{json.dumps({key: item[key]}, separators=(',', ':'))}"] = {".": {}, **entry}
            return out
    return {}


def fields_v1(obj: Obj, subresource: str | None) -> Obj:
    """The FieldsV1 set of ``obj``: status only for the status subresource, never identity metadata."""
    out: Obj = {}
    for key, value in obj.items():
        if key in ("apiVersion", "kind"):
            continue
        if (key == "status") != (subresource == "status"):
            continue
        if key == "metadata":
            meta = {k: v for k, v in (value or {}).items() if k not in _SKIP_META}
            if meta:
                out["f:metadata"] = _fields(meta, "metadata")
            continue
        out[f"f:{key}"] = _fields(value, key)
    return out


def record(
    old_entries: list[Obj] | None,
    written: Obj,
    manager: str,
    operation: str,
    api_version: str,
    subresource: str | None,
    stamp: str,
) -> list[Obj]:
    """``old_entries`` with this manager's entry replaced; an unchanged entry keeps its time."""
    fields = fields_v1(written, subresource)
    entries = [dict(e) for e in old_entries or []]
    if not fields:  # the real server drops entries that own nothing
        return entries
    for entry in entries:
        if (
            entry.get("manager") == manager
            and entry.get("operation") == operation
            and entry.get("subresource", "") == (subresource or "")
        ):
            if entry.get("fieldsV1") != fields:
                entry.update(fieldsV1=fields, time=stamp, apiVersion=api_version)
            return entries
    new_entry: Obj = {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": stamp,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }
    if subresource:
        new_entry["subresource"] = subresource
    entries.append(new_entry)
    return entries
