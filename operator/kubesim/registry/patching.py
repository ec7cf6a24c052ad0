"""The four PATCH content types: JSON patch (RFC 6902), merge patch (RFC 7386), strategic merge patch (built-ins
only, merging lists by their patch merge keys); server-side apply lives in :mod:`kubesim.registry.apply`."""

from __future__ import annotations

import json
from typing import Any

import jsonpatch

from kubesim.api import errors
from kubesim.api.merge_keys import DEFAULT_PORTS_KEY, MERGE_KEYS, PORTS_KEY_BY_PARENT
from kubesim.api.resources import ResourceType
from kubesim.storage.objects import clone

Obj = dict[str, Any]
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
ACCEPTED = (JSON_PATCH, MERGE_PATCH, STRATEGIC, APPLY)


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError as exc:
        raise errors.bad_request(f"error decoding patch: {exc}") from None


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return clone(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _merge_key(field: str, parent: str) -> str | None:
    if field == "ports":
        return PORTS_KEY_BY_PARENT.get(parent, DEFAULT_PORTS_KEY)
    return MERGE_KEYS.get(field)


def strategic_merge(target: Any, patch: Any, parent: str = "") -> Any:
    if not isinstance(patch, dict):
        return clone(patch)
    if patch.get("$patch") == "replace":
        return {k: clone(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [v for v in result.get(field) or [] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
            continue
        merge_key = _merge_key(key, parent)
        if isinstance(value, list) and merge_key is not None:
            result[key] = _merge_list(result.get(key) or [], value, merge_key, key)
            order = patch.get(f"$setElementOrder/{key}")
            if order is not None:
                result[key] = _reorder(result[key], order, merge_key)
        else:
            merged = strategic_merge(result.get(key), value, key)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    if retain is not None:
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(current: list[Any], patch: list[Any], key: str, field: str) -> list[Any]:
    if key == "":  # a set of primitives
        merged = list(current)
        for item in patch:
            if item not in merged:
                merged.append(item)
        return merged
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        # {"$patch": "replace"} as an element: the other elements replace the whole list
        return [
            {k: clone(v) for k, v in item.items() if not k.startswith("$")}
            for item in patch
            if isinstance(item, dict) and item.get("$patch") != "replace"
        ]
    server_keys = [cur.get(key) for cur in current if isinstance(cur, dict)]
    patched: list[Any] = []  # the patch's items, merged with their originals, in patch order
    deleted: list[Any] = []
    for item in patch:
        if not isinstance(item, dict):
            continue
        if key not in item:
            # strategicpatch's mergepatch error, which the server passes on as a plain (500) error
            raise errors.ApiError(
                500, "InternalError", f"map: {_go_value(item)} does not contain declared merge key: {key}"
            )
        original = next(
            (cur for cur in current if isinstance(cur, dict) and cur.get(key) == item.get(key)), None
        )
        if item.get("$patch") == "delete":
            deleted.append(item.get(key))
            continue
        patched.append(strategic_merge(clone(original) if original is not None else {}, item, field))
    patched_keys = {p.get(key) for p in patched}
    server_only = [
        clone(cur)
        for cur in current
        if not (isinstance(cur, dict) and (cur.get(key) in patched_keys or cur.get(key) in deleted))
    ]
    return _merge_sorted(patched, server_only, server_keys, key)


def _merge_sorted(left: list[Any], right: list[Any], server_keys: list[Any], key: str) -> list[Any]:
    """strategicpatch's mergeSortedSlice: patch items and server-only items interleaved by their position in
    the server's list; a patch item the server lacks goes before the server-only items still pending."""

    def position(item: Any) -> int:
        ident = item.get(key) if isinstance(item, dict) else item
        return server_keys.index(ident) if ident in server_keys else -1

    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li, ri = position(left[i]), position(right[j])
            if li >= 0 and ri >= 0 and ri < li:
                out.append(right[j])
                j += 1
            else:
                out.append(left[i])
                i += 1
    return out


def _go_value(value: Any) -> str:
    """A decoded JSON value as Go's %v prints it: ``map[image:nginx name:app]``, ``[a b]``."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_value(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_value(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _reorder(items: list[Any], order: list[Any], key: str) -> list[Any]:
    def position(item: Any) -> int:
        ident = item.get(key) if isinstance(item, dict) and key else item
        idents = [o.get(key) if isinstance(o, dict) and key else o for o in order]
        return idents.index(ident) if ident in idents else len(idents)

    return sorted(items, key=position)


def _patch_rejected(detail: str) -> errors.ApiError:
    """A JSON patch that does not apply: 422 as kube-apiserver v1.36 answers it, without the detail."""
    del detail  # the real server's answer does not carry it
    return errors.ApiError(
        422, "Invalid", "the server rejected our request due to an error in our request", details_always=True
    )


def _failed_test_message(ops: list[Any], live: Obj) -> str:
    """json-patch's text for the first ``test`` operation that fails."""
    for op in ops:
        if isinstance(op, dict) and op.get("op") == "test":
            try:
                jsonpatch.apply_patch(clone(live), [op])
            except jsonpatch.JsonPatchException:
                return f"testing value {op.get('path')} failed: test failed"
    return "test failed"


def apply_patch(rt: ResourceType, live: Obj, content_type: str, body: bytes) -> Obj:
    """The patched copy of ``live``; never mutates it."""
    media = content_type.split(";", maxsplit=1)[0].strip()
    if media == JSON_PATCH:
        ops = _decode(body)
        if not isinstance(ops, list):
            raise errors.bad_request("json patch must be a list of operations")
        try:
            return jsonpatch.apply_patch(clone(live), ops)  # type: ignore[no-any-return]
        except jsonpatch.JsonPatchTestFailed:
            raise _patch_rejected(_failed_test_message(ops, live)) from None
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise _patch_rejected(str(exc)) from None
    if media == MERGE_PATCH:
        patch = _decode(body)
        if not isinstance(patch, dict):
            raise errors.bad_request("merge patch must be a JSON object")
        return merge_patch(live, patch)  # type: ignore[no-any-return]
    if media == STRATEGIC:
        if rt.is_custom:
            raise errors.ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {JSON_PATCH}, {MERGE_PATCH}, {APPLY}",
            )
        patch = _decode(body)
        if not isinstance(patch, dict):
            raise errors.bad_request("strategic merge patch must be a JSON object")
        return strategic_merge(live, patch)  # type: ignore[no-any-return]
    raise errors.ApiError(415, "UnsupportedMediaType", "415: Unsupported Media Type", details_always=True)
