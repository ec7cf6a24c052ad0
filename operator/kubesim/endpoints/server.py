"""The HTTP face of kubesim: the Kubernetes REST API paths, verbs, content types and Status errors.

Routing follows the real URL shapes; every request is authenticated by bearer token, recorded in the audit trail,
and may be disturbed by the fault plan. Objects come from and go to :class:`kubesim.storage.store.Store`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import orjson
from aiohttp import web

from kubesim.api import errors, managed_fields, protobuf, schema, strict_fields, tables
from kubesim.api.resources import REVIEWS, ResourceType, storage_version
from kubesim.api.selectors import field_predicate, label_predicate
from kubesim.auth import authz, rbac
from kubesim.auth.rbac import Authorizer, TokenRegistry, UserInfo
from kubesim.endpoints import discovery, openapi
from kubesim.endpoints.audit import AuditLog
from kubesim.endpoints.faults import FaultPlan
from kubesim.endpoints.proxy import ServiceProxy
from kubesim.registry import apply, builtin_defaults, patching
from kubesim.storage.objects import Obj
from kubesim.storage.store import Event, Store, now_rfc3339

log = logging.getLogger(__name__)

JSON = "application/json"
PROTOBUF = "application/vnd.kubernetes.protobuf"
NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
# The registries whose DELETE answers the deleted object (genericregistry ReturnDeletedObject); every other kind
# answers a Status with details once the object is gone.
RETURN_DELETED_OBJECT = frozenset({("", "pods"), ("", "services"), ("", "serviceaccounts")})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def dumps(obj: Any) -> bytes:
    try:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # what orjson refuses, such as integers beyond 64 bits
        return json.dumps(obj, separators=(",", ":")).encode()


def json_response(obj: Any, status: int = 200) -> web.Response:
    # The real server's JSON encoder ends every document with a newline.
    return web.Response(body=dumps(obj) + b"\n", status=status, content_type=JSON)


def error_response(err: errors.ApiError) -> web.Response:
    response = json_response(err.to_status(), err.code)
    if err.retry_after is not None:
        response.headers["Retry-After"] = str(err.retry_after)
    return response


@dataclass
class Target:
    """What a resource URL names."""

    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None
    rest: str = ""  # the path after a proxy subresource


def wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def _initial_events(request: web.Request) -> bool:
    """``sendInitialEvents=true`` on a watch, validated as kube-apiserver's ValidateListOptions does."""
    if "sendInitialEvents" not in request.query:
        if request.query.get("resourceVersionMatch"):
            raise _list_options_invalid(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            )
        return False
    if request.query.get("resourceVersionMatch") != "NotOlderThan":
        raise _list_options_invalid(
            "resourceVersionMatch", "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
        )
    return _bool_param(request, "sendInitialEvents")


def _list_options_invalid(field: str, message: str) -> errors.ApiError:
    return errors.invalid(
        "ListOptions",
        "meta.k8s.io",
        "",
        [errors.Cause(field, f"Forbidden: {message}", "FieldValueForbidden")],
    )


def _initial_events_end(rt: ResourceType, resource_version: int) -> bytes:
    """The BOOKMARK that ends a streaming list's initial events (client-go's WatchList waits for it)."""
    mark = {
        "kind": rt.kind,
        "apiVersion": rt.api_version,
        "metadata": {"resourceVersion": str(resource_version), "annotations": {INITIAL_EVENTS_END: "true"}},
    }
    return dumps({"type": "BOOKMARK", "object": mark}) + b"\n"


def _bool_param(request: web.Request, key: str) -> bool:
    """As apimachinery converts query booleans: absent, "0" and "false" (any case) are false, all else true."""
    value = request.query.get(key)
    return value is not None and value != "0" and value.lower() != "false"


class ApiServer:
    def __init__(
        self,
        store: Store,
        audit: AuditLog,
        tokens: dict[str, str],
        faults: FaultPlan,
        bookmark_interval: float = 30.0,
    ) -> None:
        self.store = store
        self.audit = audit
        self.tokens = tokens  # bearer token -> user name
        self.faults = faults
        self.bookmark_interval = bookmark_interval
        self.strict = False
        self.anonymous_user = "kubesim-admin"
        self.token_registry = TokenRegistry()
        self.authorizer: Authorizer | None = None
        self.admin: dict[str, Handler] = {}
        self.proxy: ServiceProxy | None = None
        self._streams: set[web.StreamResponse] = set()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    # --- entry point ------------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.time()
        record: dict[str, Any] = {
            "time": started,
            "method": request.method,
            "path": request.path,
            "userAgent": request.headers.get("User-Agent", ""),
            "user": "",
        }
        try:
            response = await self._handle(request, record)
        except errors.ApiError as err:
            response = error_response(err)
        except web.HTTPException:
            raise
        except Exception as exc:  # a kubesim bug must still answer like a server
            log.exception("internal error on %s %s", request.method, request.path)
            response = error_response(errors.internal(repr(exc)))
        if record.get("verb"):
            record["code"] = response.status
            record["duration_ms"] = round((time.time() - started) * 1000, 3)
            self.audit.add(record)
        return response

    async def _handle(self, request: web.Request, record: dict[str, Any]) -> web.StreamResponse:
        path = request.path
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        if path.startswith("/kubesim/"):
            handler = self.admin.get(path)
            if handler is None:
                raise errors.ApiError(404, "NotFound", f"no admin endpoint {path}")
            return await handler(request)
        record["user"] = self._authenticate(request)
        if path == "/version":
            return json_response(discovery.VERSION_INFO)
        if path.startswith("/openapi/"):
            return self._openapi(path)
        if path in ("/api", "/api/"):
            if discovery.wants_aggregated(request.headers.get("Accept", "")):
                return self._aggregated(legacy=True)
            return json_response(discovery.api_versions())
        if path in ("/apis", "/apis/"):
            if discovery.wants_aggregated(request.headers.get("Accept", "")):
                return self._aggregated(legacy=False)
            return json_response(discovery.api_group_list(self.store.types()))
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts[0] == "api" and len(parts) == 2:
            return self._resource_list("", parts[1])
        if parts[0] == "apis" and len(parts) == 2:
            return self._group(parts[1])
        if parts[0] == "apis" and len(parts) == 3:
            return self._resource_list(parts[1], parts[2])
        target = self._target(parts)
        verb = self._verb(request, target)
        record.update(
            {
                "verb": verb,
                "group": target.rt.group,
                "version": target.rt.version,
                "resource": target.rt.plural,
                "subresource": target.subresource or "",
                "namespace": target.namespace or "",
                "name": target.name or "",
                "fieldManager": request.query.get("fieldManager", ""),
            }
        )
        user_info = self._user_info(request, record["user"])
        if request.headers.get("Impersonate-User") or request.headers.get("Impersonate-Group"):
            user_info = self._impersonate(request, user_info, target, verb)
            record["user"] = user_info.name
        if self.authorizer is not None:
            # RequestInfo: a namespace named in the URL (namespaces/NAME) is also the request's namespace
            scope = target.name if target.rt.key == ("", "namespaces") and target.name else target.namespace
            self.authorizer.authorize(
                user_info, verb, target.rt.group, target.rt.plural, target.subresource, scope, target.name
            )
        fault = self.faults.decide(verb, target.rt.plural, target.subresource)
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.error is not None:
            raise fault.error
        body = await request.read() if request.method in ("POST", "PUT", "PATCH", "DELETE") else b""
        if self.audit.with_bodies and body and verb in ("create", "update", "patch"):
            with contextlib.suppress(ValueError):
                record["requestObject"] = json.loads(body)
        if target.subresource == "proxy" and self.proxy is not None:
            return await self.proxy.handle(request, target.namespace, target.name or "", target.rest)
        if target.subresource == "token":
            body = b"{}"  # a TokenRequest's spec (audiences, expiry) is not used: skip decoding it
        if body and body != b"{}" and request.headers.get("Content-Type", "").startswith(PROTOBUF):
            try:
                body = dumps(protobuf.decode(body))
            except protobuf.Unsupported:
                body = b""
        if not body and request.headers.get("Content-Type", "").startswith(PROTOBUF):
            raise errors.ApiError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - "
                "accepted media types include: application/json, application/yaml",
            )
        self.strict = request.query.get("fieldValidation") == "Strict"
        try:
            return await self._dispatch(
                request, target, verb, body, record["user"], fault.cut_after, user_info
            )
        finally:
            self.strict = False

    def _authenticate(self, request: web.Request) -> str:
        """Bearer tokens name users; a wrong token is refused. Requests without credentials are served as the
        admin, as the old insecure port did: client-go (kubectl) does not send bearer tokens over plain HTTP."""
        auth = request.headers.get("Authorization", "")
        if not auth:
            return self.anonymous_user
        if auth.startswith("Bearer "):
            token = auth[7:].strip()
            user = self.tokens.get(token)
            if user is not None:
                return user
            info = self.token_registry.users.get(token)
            if info is not None:
                return info.name
        raise errors.unauthorized()

    def _impersonate(self, request: web.Request, requester: UserInfo, target: Target, verb: str) -> UserInfo:
        """``Impersonate-User``/``Impersonate-Group`` (kubectl --as, --as-group): the requester needs
        ``impersonate`` on the user (or ServiceAccount) and groups; the request then runs as that user. Refused
        with the 403 the real server (constrained impersonation, v1.36) answers."""
        name = request.headers.get("Impersonate-User", "")
        groups = request.headers.getall("Impersonate-Group", [])
        if not name:
            raise errors.internal(f"requested {groups} without impersonating a user")
        user = rbac.impersonated(name, list(groups))
        if self.authorizer is None or self.authorizer.may_impersonate(requester, user, list(groups)):
            return user
        mode = "serviceaccount" if name.startswith("system:serviceaccount:") and not groups else "user-info"
        raise rbac.forbidden_error(
            requester,
            f"impersonate-on:{mode}:{verb}",
            target.rt.group,
            target.rt.plural,
            target.subresource,
            target.namespace,
            target.name,
        )

    def _user_info(self, request: web.Request, name: str) -> UserInfo:
        auth = request.headers.get("Authorization", "")
        info = self.token_registry.users.get(auth[7:].strip()) if auth.startswith("Bearer ") else None
        return info or UserInfo(name, ("system:masters",) if name == self.anonymous_user else ())

    # --- discovery and openapi --------------------------------------------------------------------------

    def _aggregated(self, legacy: bool) -> web.Response:
        response = json_response(discovery.aggregated(self.store.types(), legacy))
        response.headers["Content-Type"] = discovery.AGGREGATED
        return response

    def _group(self, group: str) -> web.Response:
        for item in discovery.api_group_list(self.store.types())["groups"]:
            if item["name"] == group:
                return json_response({"kind": "APIGroup", "apiVersion": "v1", **item})
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")

    def _resource_list(self, group: str, version: str) -> web.Response:
        listing = discovery.resource_list(self.store.types(), group, version)
        if listing is None:  # no handler at all: the mux's plain 404
            return web.Response(status=404, text="404 page not found\n", content_type="text/plain")
        return json_response(listing)

    def _openapi(self, path: str) -> web.Response:
        types = self.store.types()
        if path.rstrip("/") == "/openapi/v3":
            return json_response(openapi.index(types))
        rest = path.removeprefix("/openapi/v3/").strip("/").split("/")
        if rest[0] == "api" and len(rest) == 2:
            return json_response(openapi.document(types, "", rest[1]))
        if rest[0] == "apis" and len(rest) == 3:
            return json_response(openapi.document(types, rest[1], rest[2]))
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")

    # --- routing ----------------------------------------------------------------------------------------

    def _target(self, parts: list[str]) -> Target:
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
        rt = self.store.resource(group, rest[0])
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

    @staticmethod
    def _verb(request: web.Request, target: Target) -> str:
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
                return "watch" if _bool_param(request, "watch") else "list"
            return {"POST": "create", "DELETE": "deletecollection"}.get(method, "unsupported")
        if method == "POST" and target.subresource:
            return "create"
        return {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(
            method, "unsupported"
        )

    async def _dispatch(
        self,
        request: web.Request,
        t: Target,
        verb: str,
        body: bytes,
        user: str,
        cut_after: int | None,
        user_info: UserInfo | None = None,
    ) -> web.StreamResponse:
        if t.subresource == "token" and verb == "create":
            return self._token_request(t)
        if t.rt.group == "authorization.k8s.io" and t.rt.plural in REVIEWS:
            if verb != "create" or self.authorizer is None:
                raise errors.method_not_allowed()
            review = self._decode(body)
            self._manage(request, t, review, None, "Update")
            return json_response(
                authz.review(self.authorizer, t.rt, t.namespace, review, user_info or UserInfo(user)), 201
            )
        dry_run = request.query.get("dryRun") == "All"
        if verb == "list":
            return self._list(request, t)
        if verb == "watch":
            return await self._watch(request, t, cut_after)
        if verb == "create":
            obj = self._decode_typed(request, t.rt, body)
            if t.rt.is_custom and not obj.get("kind"):
                raise _kind_missing(t.rt, body)
            self._manage(request, t, obj, None, "Update")
            namespace = None if t.rt.key == ("", "namespaces") or not t.rt.namespaced else t.namespace
            created = self.store.create(
                t.rt, namespace, obj, user=user, dry_run=dry_run, owned=True, copy=False
            )
            return json_response(created, 201)
        if verb == "deletecollection":
            return self._delete_collection(request, t, user)
        assert t.name is not None
        if t.subresource == "scale":
            return self._scale(request, t, verb, body, user)
        if verb == "get":
            stored = self.store.peek(t.rt, t.namespace, t.name)  # only serialized: no copy needed
            if stored is None:
                raise errors.not_found(t.rt.plural, t.rt.group, t.name)
            if wants_table(request):
                return json_response(tables.to_table(t.rt, [stored], stored["metadata"]["resourceVersion"]))
            return json_response(stored)
        if verb == "update":
            obj = self._decode_typed(request, t.rt, body)
            if t.subresource == "finalize":
                return json_response(self._finalize_namespace(t, obj))
            self._manage(request, t, obj, self.store.peek(t.rt, t.namespace, t.name), "Update")
            return json_response(
                self.store.update(
                    t.rt,
                    t.namespace,
                    t.name,
                    obj,
                    subresource=t.subresource,
                    user=user,
                    dry_run=dry_run,
                    owned=True,
                    copy=False,
                )
            )
        if verb == "patch":
            return self._patch(request, t, body, user, dry_run)
        if verb == "delete":
            return self._delete(request, t, body, user, dry_run)
        raise errors.method_not_allowed()

    def _decode_typed(self, request: web.Request, rt: ResourceType, body: bytes) -> Obj:
        """A create or update body; a JSON body that is not a JSON object is refused as the real decoder words
        it."""
        if request.headers.get("Content-Type", JSON).startswith(JSON) and not rt.is_custom:
            problem = _go_json_problem(body)
            if problem is not None:
                raise errors.bad_request(
                    f"the object provided is unrecognized (must be of type {rt.kind}): couldn't get version/kind; "
                    f"json parse error: {problem}"
                )
        return self._decode(body)

    @staticmethod
    def _decode(body: bytes) -> Obj:
        try:
            obj = json.loads(body or b"{}")
        except ValueError:
            import yaml

            try:
                obj = yaml.safe_load(body)
            except yaml.YAMLError as exc:
                raise errors.bad_request(f"couldn't get version/kind; json parse error: {exc}") from None
        if not isinstance(obj, dict):
            raise errors.bad_request("the body of the request must be an object")
        return obj

    # --- verbs ------------------------------------------------------------------------------------------

    def _predicate(self, request: web.Request, rt: ResourceType) -> Callable[[Obj], bool] | None:
        checks = []
        if request.query.get("labelSelector"):
            checks.append(label_predicate(request.query["labelSelector"]))
        if request.query.get("fieldSelector"):
            checks.append(field_predicate(rt, request.query["fieldSelector"]))
        if not checks:
            return None
        return lambda obj: all(check(obj) for check in checks)

    def _list(self, request: web.Request, t: Target) -> web.Response:
        predicate = self._predicate(request, t.rt)
        limit = int(request.query.get("limit") or 0)
        token = request.query.get("continue")
        after: tuple[str, str] | None = None
        rv = str(self.store.resource_version)
        if token:
            try:
                raw = base64.urlsafe_b64decode(token.rstrip("=") + "=" * (-len(token.rstrip("=")) % 4))
            except ValueError:
                raise errors.bad_request("invalid continue token: continue key is not valid") from None
            try:
                decoded = json.loads(raw)
                after, rv = (decoded["ns"], decoded["name"]), decoded["rv"]
            except (ValueError, KeyError, TypeError):
                text = raw.decode("latin-1").lstrip()
                if text and text[0] not in '{["-0123456789tfn':
                    shown = f"'{text[0]}'" if text[0].isprintable() else f"'\\u{ord(text[0]):04x}'"
                    detail = f"invalid character {shown} looking for beginning of value"
                else:
                    problem = _go_json_problem(raw) if text else None
                    detail = problem.rsplit(" (", 1)[0] if problem else "unexpected end of JSON input"
                raise errors.bad_request(
                    f"invalid continue token: continue key is not valid: {detail}"
                ) from None
        items: list[Obj] = []
        next_token = ""
        remaining = 0
        for obj in self.store.iter(t.rt, t.namespace):
            meta = obj["metadata"]
            key = (meta.get("namespace", ""), meta["name"])
            if after is not None and key <= after:
                continue
            if predicate is not None and not predicate(obj):
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
        if wants_table(request):
            include = request.query.get("includeObject", "Metadata")
            return json_response(tables.to_table(t.rt, items, rv, next_token, include))
        if not t.rt.is_custom:  # typed lists: items carry no kind and apiVersion
            items = [{k: v for k, v in obj.items() if k not in ("kind", "apiVersion")} for obj in items]
        meta_out: Obj = {"resourceVersion": rv}
        if next_token:
            meta_out["continue"] = next_token
            if predicate is None:  # with a selector the real server cannot count what remains
                meta_out["remainingItemCount"] = remaining
        elif t.rt.is_custom:
            meta_out["continue"] = ""  # unstructured lists carry an empty continue
        return json_response(
            {"kind": t.rt.list_kind, "apiVersion": t.rt.api_version, "metadata": meta_out, "items": items}
        )

    async def _watch(self, request: web.Request, t: Target, cut_after: int | None) -> web.StreamResponse:
        predicate = self._predicate(request, t.rt)
        since = request.query.get("resourceVersion")
        timeout = float(request.query.get("timeoutSeconds") or 1800)
        bookmarks = _bool_param(request, "allowWatchBookmarks")
        initial_events = _initial_events(request)
        if initial_events:  # a streaming list (WatchList): the current state as ADDED, then a marked BOOKMARK
            since = ""
        table = wants_table(request)
        response = web.StreamResponse(headers={"Content-Type": JSON, "Cache-Control": "no-cache"})
        response.enable_chunked_encoding()
        try:
            watcher = self.store.watch(t.rt, t.namespace, since, predicate)
        except errors.ApiError as err:
            if err.code != 410:
                raise
            await response.prepare(request)
            await response.write(dumps({"type": "ERROR", "object": err.to_status()}) + b"\n")
            await response.write_eof()
            return response
        await response.prepare(request)
        self._streams.add(response)
        deadline = time.monotonic() + timeout
        next_bookmark = time.monotonic() + self.bookmark_interval
        first_table = True
        sent = 0
        # The initial events are the ones queued when the watch opened; the end marker follows the last of them.
        initial_left = watcher.queue.qsize() if initial_events else -1
        snapshot_rv = self.store.resource_version
        try:
            while True:
                if initial_left == 0:
                    await response.write(_initial_events_end(t.rt, snapshot_rv))
                    initial_left = -1
                now = time.monotonic()
                if now >= deadline:
                    break
                wait = min(deadline - now, 1.0)  # wake up at least every second to notice a gone client
                if bookmarks:
                    wait = min(wait, max(0.0, next_bookmark - now))
                try:
                    event = await asyncio.wait_for(watcher.queue.get(), wait)
                except TimeoutError:
                    if request.transport is None or request.transport.is_closing():
                        break
                    if bookmarks and time.monotonic() >= next_bookmark:
                        mark = {
                            "kind": t.rt.kind,
                            "apiVersion": t.rt.api_version,
                            "metadata": {"resourceVersion": str(self.store.resource_version)},
                        }
                        await response.write(dumps({"type": "BOOKMARK", "object": mark}) + b"\n")
                        next_bookmark = time.monotonic() + self.bookmark_interval
                    continue
                if event is None:
                    break
                await response.write(self._event_line(t.rt, event, table, first_table))
                first_table = False
                sent += 1
                initial_left -= 1 if initial_left > 0 else 0
                if cut_after is not None and sent >= cut_after:
                    break
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            watcher.close()
            self._streams.discard(response)
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await response.write_eof()
        return response

    @staticmethod
    def _event_line(rt: ResourceType, event: Event, table: bool, first: bool) -> bytes:
        obj: Any = event.object
        if table:
            obj = tables.to_table(rt, [obj], obj["metadata"]["resourceVersion"], with_columns=first)
            return dumps({"type": event.type, "object": obj}) + b"\n"
        line = event.wire.get(event.type)  # every watcher of the type gets the same bytes: encode once
        if line is None:
            line = event.wire[event.type] = dumps({"type": event.type, "object": obj}) + b"\n"
        return line

    def _patch(self, request: web.Request, t: Target, body: bytes, user: str, dry_run: bool) -> web.Response:
        assert t.name is not None
        content_type = request.headers.get("Content-Type", "")
        if content_type.startswith(patching.APPLY):
            manager = request.query.get("fieldManager")
            if not manager:
                raise errors.invalid(
                    "PatchOptions",
                    "meta.k8s.io",
                    "",
                    [
                        errors.Cause(
                            "fieldManager",
                            "Required value: is required for apply patch",
                            "FieldValueRequired",
                        )
                    ],
                )
            live = self.store.peek(t.rt, t.namespace, t.name)
            merged = apply.server_side_apply(
                t.rt,
                live,
                self._decode(body),
                manager,
                _bool_param(request, "force"),
                stamp=now_rfc3339(self.store.clock),
                subresource=t.subresource,
            )
            if live is None:
                merged.setdefault("metadata", {})["name"] = t.name
                return json_response(
                    self.store.create(t.rt, t.namespace, merged, user=user, dry_run=dry_run, copy=False), 201
                )
            merged.setdefault("metadata", {})["resourceVersion"] = live["metadata"]["resourceVersion"]
            return json_response(
                self.store.update(
                    t.rt,
                    t.namespace,
                    t.name,
                    merged,
                    subresource=t.subresource,
                    user=user,
                    dry_run=dry_run,
                    copy=False,
                )
            )
        live = self.store.get(t.rt, t.namespace, t.name)
        patched = patching.apply_patch(t.rt, live, content_type, body)
        self._manage(request, t, patched, live, "Update")
        patched.setdefault("metadata", {}).setdefault("resourceVersion", live["metadata"]["resourceVersion"])
        if not patched["metadata"].get("resourceVersion"):
            patched["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
        return json_response(
            self.store.update(
                t.rt,
                t.namespace,
                t.name,
                patched,
                subresource=t.subresource,
                user=user,
                dry_run=dry_run,
                owned=True,
                copy=False,
            )
        )

    def _manage(
        self,
        request: web.Request,
        t: Target,
        obj: Obj,
        live: Obj | None,
        operation: str,
        applied: Obj | None = None,
    ) -> None:
        """Record the write in obj's metadata.managedFields (see kubesim.api.managed_fields); 409 on apply
        conflicts unless ``force``."""
        manager = request.query.get("fieldManager") or managed_fields.manager_from_user_agent(
            request.headers.get("User-Agent", "")
        )
        if operation == "Update" and t.subresource is None and isinstance(obj.get("metadata", {}), dict):
            _decode_defaults(t.rt, obj, prune=not self.strict)
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
            now_rfc3339(self.store.clock),
            applied=applied,
            force=_bool_param(request, "force"),
            present=managed_fields.zero_object_paths(t.rt.key, t.rt.is_custom),
            schema=_crd_schema(t.rt),
        )
        if not entries:
            del meta["managedFields"]  # the real server omits an empty list

    def _delete_options(self, request: web.Request, body: bytes) -> Obj:
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

    def _delete(self, request: web.Request, t: Target, body: bytes, user: str, dry_run: bool) -> web.Response:
        assert t.name is not None
        options = self._delete_options(request, body)
        pre = options.get("preconditions") or {}
        obj = self.store.delete(
            t.rt,
            t.namespace,
            t.name,
            propagation=options.get("propagationPolicy"),
            precondition_uid=pre.get("uid"),
            precondition_rv=pre.get("resourceVersion"),
            user=user,
            dry_run=dry_run or "All" in (options.get("dryRun") or []),
        )
        meta = obj["metadata"]
        if t.rt.key in RETURN_DELETED_OBJECT:
            return json_response(obj)
        kept = self.store.peek(t.rt, t.namespace, t.name)
        if (
            meta.get("deletionTimestamp")
            and kept is not None
            and kept["metadata"].get("uid") == meta.get("uid")
        ):
            return json_response(obj)  # finalizers keep it: the object, marked for deletion
        if dry_run and (meta.get("finalizers") or t.rt.key == ("", "namespaces")):
            return json_response(obj)
        return json_response(errors.deleted(t.rt.plural, t.rt.group, t.name, meta.get("uid", "")))

    def _delete_collection(self, request: web.Request, t: Target, user: str) -> web.Response:
        predicate = self._predicate(request, t.rt)
        deleted = []
        for obj in list(self.store.iter(t.rt, t.namespace)):
            if predicate is None or predicate(obj):
                meta = obj["metadata"]
                deleted.append(self.store.delete(t.rt, meta.get("namespace"), meta["name"], user=user))
        return json_response(
            {
                "kind": t.rt.list_kind,
                "apiVersion": t.rt.api_version,
                "metadata": {"resourceVersion": str(self.store.resource_version)},
                "items": deleted,
            }
        )

    def _scale(self, request: web.Request, t: Target, verb: str, body: bytes, user: str) -> web.Response:
        assert t.name is not None
        obj = self.store.get(t.rt, t.namespace, t.name)
        if verb in ("update", "patch"):
            scale = self._scale_of(obj)
            if verb == "update":
                new_scale = self._decode(body)
            else:
                new_scale = patching.apply_patch(
                    self.store.require("apps", "replicasets"),
                    scale,
                    request.headers.get("Content-Type", ""),
                    body,
                )
            rv = (new_scale.get("metadata") or {}).get("resourceVersion")
            if rv and rv != obj["metadata"]["resourceVersion"]:
                raise errors.conflict(t.rt.plural, t.rt.group, t.name)
            obj.setdefault("spec", {})["replicas"] = int((new_scale.get("spec") or {}).get("replicas", 0))
            obj = self.store.update(t.rt, t.namespace, t.name, obj, user=user)
        return json_response(self._scale_of(obj))

    def _token_request(self, t: Target) -> web.Response:
        """TokenRequest: a bearer token for the ServiceAccount (``kubectl create token``)."""
        assert t.name is not None
        self.store.get(t.rt, t.namespace, t.name)  # 404 for an unknown ServiceAccount
        token = self.token_registry.issue_for_service_account(t.namespace or "", t.name)
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        return json_response(
            {
                "kind": "TokenRequest",
                "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"name": t.name, "namespace": t.namespace},
                "spec": {"audiences": ["https://kubernetes.default.svc"], "expirationSeconds": 3600},
                "status": {"token": token, "expirationTimestamp": expires},
            },
            201,
        )

    @staticmethod
    def _scale_of(obj: Obj) -> Obj:
        from kubesim.api.selectors import selector_string

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
                    "selector": selector_string((obj.get("spec") or {}).get("selector")),
                }.items()
                if k == "replicas" or v
            },
        }

    def _finalize_namespace(self, t: Target, obj: Obj) -> Obj:
        assert t.name is not None
        current = self.store.get(t.rt, None, t.name)
        current.setdefault("spec", {})["finalizers"] = (obj.get("spec") or {}).get("finalizers") or []
        # Through the main path (which keeps status): a /status write would keep the old spec.finalizers.
        return self.store.update(t.rt, None, t.name, current)

    async def close_streams(self) -> None:
        for response in list(self._streams):
            with contextlib.suppress(Exception):
                await response.write_eof()


_GO_TYPEMETA = (
    'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'
)


def _go_json_problem(body: bytes) -> str | None:
    """encoding/json's complaint about ``body`` with the decoder's snippet, or None for a JSON object."""
    text = body.decode("utf-8", "replace")
    snippet = text if text else "<empty>"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated"):
            return f"unexpected end of JSON input ({snippet})"
        char = text[exc.pos]
        where = {
            "Expecting property name enclosed in double quotes": "looking for beginning of object key string",
            "Expecting ':' delimiter": "after object key",
            "Expecting ',' delimiter": "after object key:value pair",
        }.get(exc.msg, "looking for beginning of value")
        return f"invalid character '{char}' {where} ({snippet})"
    if isinstance(value, dict):
        return None
    kind = {list: "array", str: "string", bool: "bool", type(None): "null"}.get(type(value), "number")
    if value is None:
        return None
    return f"json: cannot unmarshal {kind} into Go value of type {_GO_TYPEMETA} ({body.hex()})"


def _kind_missing(rt: ResourceType, body: bytes) -> errors.ApiError:
    """The unstructured decoder's 400 for a custom resource without ``kind``."""
    text = body.decode("utf-8", "replace")
    snippet = text[:30] + " ..." if len(text) > 30 else text
    return errors.bad_request(
        f"the object provided is unrecognized (must be of type {rt.kind}): Object 'Kind' is missing in "
        f"'{text}' ({snippet})"
    )


def _crd_schema(rt: ResourceType) -> Obj | None:
    if rt.crd is None:
        return None
    return dict((storage_version(rt.crd).get("schema") or {}).get("openAPIV3Schema") or {})


def _decode_defaults(rt: ResourceType, obj: Obj, prune: bool = True) -> None:
    """The defaults the real server applies while decoding (before the field manager records the writer's
    fields): built-in SetDefaults_* and conversions, a custom resource's structural schema defaults."""
    if rt.crd is None:
        builtin_defaults.scheme_defaults(rt.key, obj)
        return
    root = (storage_version(rt.crd).get("schema") or {}).get("openAPIV3Schema") or {}
    props = root.get("properties") or {}
    for part, value in list(obj.items()):
        if part not in ("metadata", "apiVersion", "kind", "status") and part in props and value is not None:
            schema.apply_defaults(value, props[part])
            if prune:  # pruned fields are nobody's (strict validation refuses them in admission)
                obj[part] = schema.prune(value, props[part], part, [])


def admit_custom(server: ApiServer) -> Callable[[Any], None]:
    """The admission hook for custom resources and CRDs."""

    def hook(op: Any) -> None:
        if op.verb == "delete":
            return
        if op.rt.key == ("apiextensions.k8s.io", "customresourcedefinitions") and op.subresource is None:
            schema.validate_crd(op.obj)
        elif op.rt.crd is not None:
            try:
                schema.admit_custom_resource(op.rt.crd, op.obj, op.old, op.subresource, strict=server.strict)
            except errors.ApiError as err:
                if err.code == 400 and err.message.startswith("strict decoding error"):
                    kind, version = op.rt.kind, op.rt.version
                    err.message = (
                        f'{kind} in version "{version}" cannot be handled as a {kind}: {err.message}'
                    )
                raise
        elif server.strict:
            strict_fields.reject_unknown(op.rt.key, op.rt.kind, op.rt.version, op.obj)

    return hook
