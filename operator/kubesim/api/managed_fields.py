"""metadata.managedFields bookkeeping in the shape of the real server's FieldsV1 sets.

Create makes the manager own every field it sent; Update (PUT, patches) makes it own the fields it changed and
takes them from other managers; Apply makes its set exactly the applied configuration's fields and, without
``force``, fails with 409 when another manager owns a field the configuration sets to a different value."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kubesim.api import errors
from kubesim.api.merge_keys import DEFAULT_PORTS_KEY, MERGE_KEYS, PORTS_KEY_BY_PARENT, apply_item_key

Obj = dict[str, Any]
Path = tuple[str, ...]
PRESENT = object()  # the value of a keyed list item's "." (its existence)
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


# also the admission policies' +structType=atomic fields, and their validationActions, a set
_ATOMIC_FIELDS = frozenset(
    {"roleRef", "podSelector", "matchConstraints", "matchResources", "paramKind", "paramRef"}
)
_SET_FIELDS = frozenset({"validationActions"})


def manager_from_user_agent(user_agent: str) -> str:
    """The default manager name the real server derives: the User-Agent up to its first '/'."""
    return (user_agent.split("/", 1)[0] or "unknown")[:128]


def _merge_key(field: str, parent: str) -> str | None:
    if field == "ports":
        return PORTS_KEY_BY_PARENT.get(parent, DEFAULT_PORTS_KEY)
    return MERGE_KEYS.get(field)


def _leaves(value: Any, path: Path, field: str, parent: str) -> Iterator[tuple[Path, Any]]:
    if (field == "selector" and parent == "spec") or field in _ATOMIC_FIELDS:
        yield path, value  # LabelSelectors, Service selectors and RoleRefs are atomic
        return
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaves(item, (*path, f"f:{key}"), key, field)
        return
    if isinstance(value, list):
        key = "" if field in _SET_FIELDS else _merge_key(field, parent)
        if key == "":
            for item in value:
                yield (*path, f"v:{json.dumps(item)}"), PRESENT
            return
        if key and value and all(isinstance(item, dict) and key in item for item in value):
            for item in value:
                item_key = apply_item_key(field, key, item)
                item_path = (*path, f"k:{json.dumps(item_key, separators=(',', ':'))}")
                yield (*item_path, "."), PRESENT
                for name, sub in item.items():
                    yield from _leaves(sub, (*item_path, f"f:{name}"), name, field)
            return
    yield path, value


def _schema_leaves(value: Any, path: Path, schema: Obj) -> Iterator[tuple[Path, Any]]:
    """A custom resource's fields, as its structural schema shapes them: ``x-kubernetes-list-type: map`` lists
    by their keys, ``set`` lists by value, other lists and ``x-kubernetes-map-type: atomic`` maps whole."""
    if isinstance(value, dict) and value and schema.get("x-kubernetes-map-type") != "atomic":
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = props.get(key) or (extra if isinstance(extra, dict) else {})
            yield from _schema_leaves(item, (*path, f"f:{key}"), sub)
        return
    if isinstance(value, list) and not value and schema.get("x-kubernetes-list-type") in ("set", "map"):
        return  # an empty associative list owns nothing
    if isinstance(value, list) and value:
        list_type = schema.get("x-kubernetes-list-type")
        items = schema.get("items") or {}
        if list_type == "set":
            for item in value:
                yield (*path, f"v:{json.dumps(item, separators=(',', ':'))}"), PRESENT
            return
        if list_type == "map" and all(isinstance(item, dict) for item in value):
            keys = schema.get("x-kubernetes-list-map-keys") or []
            for item in value:
                ident = {k: item[k] for k in sorted(keys) if k in item}
                item_path = (*path, f"k:{json.dumps(ident, separators=(',', ':'))}")
                yield (*item_path, "."), PRESENT
                props = items.get("properties") or {}
                for name, sub in item.items():
                    yield from _schema_leaves(sub, (*item_path, f"f:{name}"), props.get(name) or {})
            return
    yield path, value


def leaves(obj: Obj | None, subresource: str | None, schema: Obj | None = None) -> dict[Path, Any]:
    """Every owned-field path of ``obj`` with its value: status only for the status subresource, never identity
    metadata, apiVersion or kind. ``schema``: a custom resource's openAPIV3Schema, which shapes its lists."""
    out: dict[Path, Any] = {}
    props = (schema or {}).get("properties") or {}
    for key, value in (obj or {}).items():
        if key in ("apiVersion", "kind") or (key == "status") != (subresource == "status"):
            continue
        if key == "metadata":
            meta = {k: v for k, v in (value or {}).items() if k not in _SKIP_META}
            if meta:
                out.update(_leaves(meta, ("f:metadata",), key, ""))
            continue
        if schema is not None:
            out.update(_schema_leaves(value, (f"f:{key}",), props.get(key) or {}))
        else:
            out.update(_leaves(value, (f"f:{key}",), key, ""))
    return out


def _to_set(fields: Obj, prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for key, sub in fields.items():
        if key == ".":
            out.add((*prefix, "."))
        elif isinstance(sub, dict) and sub:
            out |= _to_set(sub, (*prefix, key))
        else:
            out.add((*prefix, key))
    return out


def owned_paths(fields_v1: Obj) -> set[Path]:
    """The set of field paths a FieldsV1 object encodes."""
    return _to_set(fields_v1)


def _to_fields(paths: set[Path]) -> Obj:
    root: Obj = {}
    for path in sorted(paths):
        node = root
        for part in path:
            node = node.setdefault(part, {})
    return root


def render(path: Path) -> str:
    """A path as the real conflict messages print it: .spec.containers[name="main"].image"""
    out = ""
    for part in path:
        if part == ".":
            continue
        if part.startswith("f:"):
            out += "." + part[2:]
        elif part.startswith("k:"):
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(part[2:]).items()) + "]"
        elif part.startswith("v:"):
            out += f"[={part[2:]}]"
    return out


def describe_manager(entry: Obj) -> str:
    """A manager as conflict messages name it (fieldmanager's printManager): ``"name"``, ``with subresource
    "status"``, and for an Update manager ``using v1``."""
    text = json.dumps(str(entry.get("manager", "")))
    if entry.get("subresource"):
        text += f" with subresource {json.dumps(entry['subresource'])}"
    if entry.get("operation") == "Update":
        # the manager key the real field manager prints carries no time, so no "at <time>"
        text += f" using {entry.get('apiVersion', '')}"
    return text


def _conflict_error(conflicts: dict[str, list[Path]], who_by_manager: dict[str, str]) -> errors.ApiError:
    total = sum(len(paths) for paths in conflicts.values())
    plural = "s" if total > 1 else ""
    parts: list[str] = []
    causes: list[errors.Cause] = []
    for manager, paths in conflicts.items():
        described = who_by_manager[manager]
        who = f"conflict{'s' if len(paths) > 1 else ''} with {described}"
        rendered = [render(p) for p in sorted(paths)]
        if len(rendered) == 1:
            parts.append(f"{who}: {rendered[0]}")
        else:
            parts.append(f"{who}:\n" + "\n".join(f"- {r}" for r in rendered))
        causes += [errors.Cause(r, f"conflict with {described}", "FieldManagerConflict") for r in rendered]
    message = f"Apply failed with {total} conflict{plural}: " + "\n".join(parts)
    return errors.ApiError(409, "Conflict", message, causes=causes)


@dataclass(frozen=True)
class _Write:
    manager: str
    operation: str
    api_version: str
    subresource: str
    stamp: str
    changed_object: bool

    def owns(self, entry: Obj) -> bool:
        """Whether ``entry`` is the one this write updates."""
        fields = (entry.get("manager"), entry.get("operation"), entry.get("subresource", ""))
        return fields == (self.manager, self.operation, self.subresource)


def record(
    old_entries: list[Obj] | None,
    live: Obj | None,
    new: Obj,
    manager: str,
    operation: str,
    api_version: str,
    subresource: str | None,
    stamp: str,
    applied: Obj | None = None,
    force: bool = False,
    present: frozenset[Path] | None = None,
    schema: Obj | None = None,
) -> list[Obj]:
    """The managedFields after this write (``applied``: the configuration of an Apply). ``present``: for a
    create, the containers the empty object of the type already has (see :func:`zero_object_paths`)."""
    entries = [dict(e) for e in old_entries or []]
    sub = subresource or ""
    sets = [_to_set(e.get("fieldsV1") or {}) for e in entries]
    new_leaves = leaves(new, subresource, schema)
    old_leaves = leaves(live, subresource, schema) if live is not None else {}
    if operation == "Apply":
        applied_leaves = leaves(applied, subresource, schema)
        mine = set(applied_leaves)
        taken = _taken_by_apply(entries, sets, manager, sub, old_leaves, applied_leaves, force)
    else:
        changed = {p for p, v in new_leaves.items() if p not in old_leaves or old_leaves[p] != v}
        changed -= {p for p in changed if new_leaves[p] == {} and p in (present or ())}  # a zero struct
        taken = changed | (set(old_leaves) - set(new_leaves))
        mine = changed | _added_containers(new_leaves, old_leaves, live, present)
    for i, (entry, owned) in enumerate(zip(entries, sets, strict=True)):
        if entry.get("subresource", "") == sub and not (
            entry.get("manager") == manager and entry.get("operation") == operation
        ):
            sets[i] = owned - taken
    write = _Write(manager, operation, api_version, sub, stamp, _content(live) != _content(new))
    return _sorted_entries(_entries_after(write, entries, sets, mine, new_leaves))


def _taken_by_apply(
    entries: list[Obj],
    sets: list[set[Path]],
    manager: str,
    sub: str,
    live_leaves: dict[Path, Any],
    applied_leaves: dict[Path, Any],
    force: bool,
) -> set[Path]:
    """The fields an Apply takes from other managers of the same subresource (with ``force``), or the 409 of
    its conflicts; a field set to the value it already has is shared, not taken."""
    taken: set[Path] = set()
    conflicts: dict[str, list[Path]] = {}
    versions: dict[str, str] = {}
    for entry, owned in zip(entries, sets, strict=True):
        if entry.get("manager") == manager or entry.get("subresource", "") != sub:
            continue
        for path in owned & set(applied_leaves):
            if path in live_leaves and live_leaves[path] == applied_leaves[path]:
                continue  # same value: shared ownership
            if force:
                taken.add(path)
            else:
                conflicts.setdefault(str(entry.get("manager")), []).append(path)
                versions[str(entry.get("manager"))] = describe_manager(entry)
    if conflicts:
        raise _conflict_error(conflicts, versions)
    return taken


def _entries_after(
    write: _Write, entries: list[Obj], sets: list[set[Path]], mine: set[Path], new_leaves: dict[Path, Any]
) -> list[Obj]:
    """Every entry with what it owns now (entries that own nothing are dropped, as the real server does), the
    writer's own entry updated or added."""
    apply = write.operation == "Apply"
    result: list[Obj] = []
    found = False
    for entry, kept in zip(entries, sets, strict=True):
        owned = kept
        if write.owns(entry):
            found = True
            owned = mine if apply else (kept & _with_containers(new_leaves)) | mine
            if apply:
                entry["apiVersion"] = write.api_version
                if write.changed_object:  # the real server stamps an Apply only when the object changed
                    entry["time"] = write.stamp
            elif owned != _to_set(entry.get("fieldsV1") or {}):
                entry.update(time=write.stamp, apiVersion=write.api_version)
        if owned:
            entry["fieldsV1"] = _to_fields(owned)
            result.append(entry)
    if not found and mine:
        new_entry: Obj = {
            "manager": write.manager,
            "operation": write.operation,
            "apiVersion": write.api_version,
        }
        if not apply or write.changed_object:
            new_entry["time"] = write.stamp
        new_entry["fieldsType"] = "FieldsV1"
        new_entry["fieldsV1"] = _to_fields(mine)
        if write.subresource:
            new_entry["subresource"] = write.subresource
        result.append(new_entry)
    return result


def _sorted_entries(result: list[Obj]) -> list[Obj]:
    """The real server's order: operation (Apply before Update), time (none first), manager, apiVersion,
    subresource. Times of one format compare as strings."""
    fields = ("operation", "time", "manager", "apiVersion", "subresource")
    result.sort(
        key=lambda e: tuple(str(e.get(k, ""))[:19] if k == "time" else str(e.get(k, "")) for k in fields)
    )
    return result


BUILTIN_SHAPES: dict[tuple[str, str], Obj] = {
    ("apps", "controllerrevisions"): {"properties": {"data": {"x-kubernetes-map-type": "atomic"}}},
}
"""Built-ins whose fields the generic walk would split wrongly, described as a schema: a ControllerRevision's
``data`` is a RawExtension, owned whole."""


def _added_containers(
    new_leaves: dict[Path, Any],
    old_leaves: dict[Path, Any],
    live: Obj | None,
    present: frozenset[Path] | None,
) -> set[Path]:
    """Maps and lists this write adds whole (absent before): their own "." member."""
    before: set[Path] = set(present or ())
    if live is not None:
        for path in old_leaves:
            before.update(path[:i] for i in range(1, len(path) + 1))
    out: set[Path] = set()
    for path in new_leaves:
        for i in range(1, len(path)):
            prefix = path[:i]
            if prefix[-1].startswith("f:") and prefix not in before and path[i] != ".":
                out.add((*prefix, "."))
    return out


def _with_containers(leaves_: dict[Path, Any]) -> set[Path]:
    """The leaf paths and the "." members of every field container holding them."""
    out = set(leaves_)
    for path in leaves_:
        out.update((*path[:i], ".") for i in range(1, len(path)) if path[i - 1].startswith("f:"))
    return out


def _content(obj: Obj | None) -> Any:
    if obj is None:
        return None
    meta = {
        k: v for k, v in (obj.get("metadata") or {}).items() if k not in ("managedFields", "resourceVersion")
    }
    return {**obj, "metadata": meta}
