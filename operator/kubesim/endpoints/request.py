"""One API request as the handlers see it (apiserver's RequestInfo and the request's options): what the URL names,
the verb, the user, the body, and the options that travel with it (dry run, strict field validation, a fault's
cut-off), so nothing of one request is kept on the server."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from kubesim.api import errors
from kubesim.api.resources import ResourceType
from kubesim.auth.rbac import UserInfo
from kubesim.storage.admission import Requester
from kubesim.storage.objects import Obj
from kubesim.storage.store import Store

NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass
class Target:
    """What a resource URL names."""

    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None
    rest: str = ""  # the path after a proxy subresource


@dataclass(slots=True)
class ApiRequest:
    http: web.Request
    target: Target
    verb: str
    body: bytes
    user: str  # the user's name, as audited
    user_info: UserInfo
    cut_after: int | None = None  # a fault plan's cut of a watch after so many events
    dry_run: bool = False  # dryRun=All
    strict: bool = False  # fieldValidation=Strict
    requester: Requester | None = None  # for writes: the user as admission sees them, and its warnings

    @property
    def name(self) -> str:
        """The object's name (item requests only)."""
        assert self.target.name is not None
        return self.target.name

    def query(self, key: str) -> str | None:
        return self.http.query.get(key)

    def bool_param(self, key: str) -> bool:
        return bool_param(self.http, key)

    @property
    def content_type(self) -> str:
        return self.http.headers.get("Content-Type", "")

    def store_update(self, store: Store, obj: Obj, *, owned: bool = False) -> Obj:
        """``store.update`` of this request's object with the request's options (subresource, user, dry run,
        strictness); ``obj`` is the handler's own copy (``owned``: decoded from this request's body)."""
        t = self.target
        return store.update(
            t.rt,
            t.namespace,
            self.name,
            obj,
            subresource=t.subresource,
            user=self.user,
            dry_run=self.dry_run,
            strict=self.strict,
            owned=owned,
            copy=False,
            requester=self.requester,
        )


def bool_param(request: web.Request, key: str) -> bool:
    """As apimachinery converts query booleans: absent, "0" and "false" (any case) are false, all else true."""
    value = request.query.get(key)
    return value is not None and value != "0" and value.lower() != "false"


def wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


def target(store: Store, parts: list[str]) -> Target:
    """The resource, namespace, name and subresource a path names; the 404 of an unknown one."""
    not_found = errors.ApiError(
        404, "NotFound", "the server could not find the requested resource", details_always=True
    )
    if parts[0] == "api" and len(parts) >= 3 and parts[1] == "v1":
        group, version, rest = "", "v1", parts[2:]
    elif parts[0] == "apis" and len(parts) >= 4:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise not_found
    namespace: str | None = None
    if (
        rest[0] == "namespaces"
        and len(rest) >= 3
        and not (group == "" and len(rest) == 3 and rest[2] in NAMESPACE_SUBRESOURCES)
    ):
        namespace, rest = rest[1], rest[2:]
    rt = store.resource(group, rest[0])
    if rt is None or version not in (rt.served_versions or (rt.version,)):
        raise not_found
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    extra = "/".join(rest[3:])
    if (
        sub is not None
        and sub not in rt.subresources
        and not (rt.key == ("", "namespaces") and sub == "finalize")
    ):
        raise not_found
    if not rt.namespaced and namespace is not None:
        raise not_found
    return Target(rt, namespace, name, sub, extra)


def verb(request: web.Request, target: Target) -> str:
    method = request.method
    if target.subresource == "proxy":
        return {
            "GET": "get",
            "POST": "create",
            "PUT": "update",
            "PATCH": "patch",
            "DELETE": "delete",
        }.get(method, "get")
    if target.name is None:
        if method == "GET":
            return "watch" if bool_param(request, "watch") else "list"
        return {"POST": "create", "DELETE": "deletecollection"}.get(method, "unsupported")
    if method == "POST" and target.subresource:
        return "create"
    return {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, "unsupported")
