"""GET of one object and of a list (apiserver's ``handlers/get.go``): tables, selectors, ``limit`` and
``continue`` paging."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

from aiohttp import web

from kubesim.api import errors, tables
from kubesim.api.resources import ResourceType
from kubesim.api.selectors import field_predicate, label_predicate
from kubesim.endpoints.codec import dumps, go_json_problem, json_response
from kubesim.endpoints.request import ApiRequest, wants_table
from kubesim.storage.objects import Obj
from kubesim.storage.store import Store


def get(store: Store, r: ApiRequest) -> web.Response:
    t = r.target
    stored = store.peek(t.rt, t.namespace, r.name)  # only serialized: no copy needed
    if stored is None:
        raise errors.not_found(t.rt.plural, t.rt.group, r.name)
    if wants_table(r.http):
        return json_response(tables.to_table(t.rt, [stored], stored["metadata"]["resourceVersion"]))
    return json_response(stored)


def predicate(request: web.Request, rt: ResourceType) -> Callable[[Obj], bool] | None:
    checks = []
    if request.query.get("labelSelector"):
        checks.append(label_predicate(request.query["labelSelector"]))
    if request.query.get("fieldSelector"):
        checks.append(field_predicate(rt, request.query["fieldSelector"]))
    if not checks:
        return None
    return lambda obj: all(check(obj) for check in checks)


def _continue_from(token: str) -> tuple[tuple[str, str], str]:
    """The last (namespace, name) of the previous page and the list's resourceVersion; the real 400s."""
    try:
        raw = base64.urlsafe_b64decode(token.rstrip("=") + "=" * (-len(token.rstrip("=")) % 4))
    except ValueError:
        raise errors.bad_request("invalid continue token: continue key is not valid") from None
    try:
        decoded = json.loads(raw)
        return (decoded["ns"], decoded["name"]), decoded["rv"]
    except (ValueError, KeyError, TypeError):
        text = raw.decode("latin-1").lstrip()
        if text and text[0] not in '{["-0123456789tfn':
            shown = f"'{text[0]}'" if text[0].isprintable() else f"'\\u{ord(text[0]):04x}'"
            detail = f"invalid character {shown} looking for beginning of value"
        else:
            problem = go_json_problem(raw) if text else None
            detail = problem.rsplit(" (", 1)[0] if problem else "unexpected end of JSON input"
        raise errors.bad_request(f"invalid continue token: continue key is not valid: {detail}") from None


def list_(store: Store, r: ApiRequest) -> web.Response:
    t = r.target
    selected = predicate(r.http, t.rt)
    limit = int(r.query("limit") or 0)
    token = r.query("continue")
    after: tuple[str, str] | None = None
    rv = str(store.resource_version)
    if token:
        after, rv = _continue_from(token)
    items: list[Obj] = []
    next_token = ""
    remaining = 0
    for obj in store.iter(t.rt, t.namespace):
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        if after is not None and key <= after:
            continue
        if selected is not None and not selected(obj):
            continue
        if limit and len(items) >= limit:
            remaining += 1
            continue
        items.append(obj)
    if remaining and items:
        last = items[-1]["metadata"]
        next_token = base64.urlsafe_b64encode(
            dumps({"ns": last.get("namespace", ""), "name": last["name"], "rv": rv})
        ).decode()
    if wants_table(r.http):
        include = r.http.query.get("includeObject", "Metadata")
        return json_response(tables.to_table(t.rt, items, rv, next_token, include))
    return json_response(_list_body(t.rt, items, rv, next_token, remaining if selected is None else None))


def _list_body(rt: ResourceType, items: list[Obj], rv: str, next_token: str, remaining: int | None) -> Obj:
    """``remaining``: None with a selector (the real server cannot count what remains then)."""
    if not rt.is_custom:  # typed lists: items carry no kind and apiVersion
        items = [{k: v for k, v in obj.items() if k not in ("kind", "apiVersion")} for obj in items]
    meta_out: Obj = {"resourceVersion": rv}
    if next_token:
        meta_out["continue"] = next_token
        if remaining is not None:
            meta_out["remainingItemCount"] = remaining
    elif rt.is_custom:
        meta_out["continue"] = ""  # unstructured lists carry an empty continue
    return {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": meta_out, "items": items}
