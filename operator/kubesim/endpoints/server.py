"""The HTTP face of kubesim: the Kubernetes REST API paths, verbs, content types and Status errors.

Every request is authenticated by bearer token (without one: ``system:anonymous``; impersonation on top), authorized
(RBAC, also for non-resource URLs such as discovery and /healthz), recorded in the audit trail and may
be disturbed by the fault plan (the filters of apiserver's handler chain); then the handler of its verb answers it
(``kubesim.endpoints.handlers``) with an :class:`ApiRequest` that carries everything of that request. Objects come
from and go to :class:`kubesim.storage.store.Store`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from kubesim.api import errors
from kubesim.api.resources import REVIEWS
from kubesim.auth import rbac
from kubesim.auth.rbac import Authorizer, TokenRegistry, UserInfo
from kubesim.endpoints import codec
from kubesim.endpoints import request as requests
from kubesim.endpoints.audit import AuditLog
from kubesim.endpoints.codec import error_response
from kubesim.endpoints.faults import FaultPlan
from kubesim.endpoints.handlers import create, delete, discovery, get, patch, update, watch
from kubesim.endpoints.proxy import ServiceProxy
from kubesim.endpoints.request import ApiRequest, Target
from kubesim.storage.admission import Requester
from kubesim.storage.store import Store

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ItemHandler = Callable[[Store, ApiRequest], web.Response]
# The handlers of the verbs on one named object (after the collection verbs and the scale subresource).
ITEM_HANDLERS: dict[str, ItemHandler] = {
    "get": get.get,
    "update": update.update,
    "patch": patch.patch,
    "delete": delete.delete,
}
HEALTH = ("/healthz", "/livez", "/readyz")
WRITES = frozenset({"create", "update", "patch", "delete", "deletecollection"})


class ApiServer:
    def __init__(
        self,
        store: Store,
        audit: AuditLog,
        tokens: dict[str, str],
        faults: FaultPlan,
        bookmark_interval: float = 30.0,
        insecure: bool = False,
    ) -> None:
        self.store = store
        self.audit = audit
        self.tokens = tokens  # bearer token -> user name
        self.faults = faults
        self.bookmark_interval = bookmark_interval
        self.insecure = insecure
        """Plain HTTP: a request without credentials is the admin (client-go sends no token over HTTP)."""
        self.token_registry = TokenRegistry()
        self.authorizer: Authorizer | None = None
        self.admin: dict[str, Handler] = {}
        self.proxy: ServiceProxy | None = None
        self.streams: set[web.StreamResponse] = set()

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
        user = self._authenticate(request)
        record["user"] = user.name
        parts = [unquote(p) for p in path.strip("/").split("/")]
        resource_path = len(parts) >= (3 if parts[0] == "api" else 4) and parts[0] in ("api", "apis")
        if not resource_path and self.authorizer is not None:
            self.authorizer.authorize_path(user, request.method.lower(), path)
        if path in HEALTH:
            return web.Response(text="ok")
        if path.startswith("/kubesim/"):
            handler = self.admin.get(path)
            if handler is None:
                raise errors.ApiError(404, "NotFound", f"no admin endpoint {path}")
            return await handler(request)
        answer = self._discovery(request, parts)
        if answer is not None:
            return answer
        target = requests.target(self.store, parts)
        verb = requests.verb(request, target)
        _audit_target(record, request, target, verb)
        user_info = self._authorize(request, record, user, target, verb)
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
        content_type = request.headers.get("Content-Type", "")
        if body or content_type:
            body = codec.protobuf_to_json(body, content_type)
        r = ApiRequest(
            request,
            target,
            verb,
            body,
            record["user"],
            user_info,
            cut_after=fault.cut_after,
            dry_run=request.query.get("dryRun") == "All",
            strict=request.query.get("fieldValidation") == "Strict",
        )
        if verb in WRITES:
            r.requester = Requester(user_info.name, user_info.groups, dry_run=r.dry_run)
            try:
                response = await self._dispatch(r)
            except errors.ApiError as err:  # admission's warnings go with a refusal too
                response = error_response(err)
            _admission_answers(r.requester, response, record)
            return response
        return await self._dispatch(r)

    def _discovery(self, request: web.Request, parts: list[str]) -> web.Response | None:
        """The answer to a discovery or OpenAPI path; None for a resource path."""
        path = request.path
        if parts[0] in ("api", "apis") and len(parts) > 3:
            return None  # a resource path: the common case first
        accept = request.headers.get("Accept", "")
        if path == "/version":
            return discovery.version()
        if path.startswith("/openapi/"):
            return discovery.openapi_v3(self.store.types(), path)
        if path in ("/api", "/api/"):
            return discovery.api_versions(self.store.types(), accept)
        if path in ("/apis", "/apis/"):
            return discovery.api_groups(self.store.types(), accept)
        if parts[0] == "api" and len(parts) == 2:
            return discovery.resource_list(self.store.types(), "", parts[1])
        if parts[0] == "apis" and len(parts) == 2:
            return discovery.group(self.store.types(), parts[1])
        if parts[0] == "apis" and len(parts) == 3:
            return discovery.resource_list(self.store.types(), parts[1], parts[2])
        return None

    def _authorize(
        self, request: web.Request, record: dict[str, Any], user_info: UserInfo, target: Target, verb: str
    ) -> UserInfo:
        """The user the request runs as (impersonation included), authorized for the verb on the target."""
        if request.headers.get("Impersonate-User") or request.headers.get("Impersonate-Group"):
            user_info = self._impersonate(request, user_info, target, verb)
            record["user"] = user_info.name
        if self.authorizer is not None:
            # RequestInfo: a namespace named in the URL (namespaces/NAME) is also the request's namespace
            scope = target.name if target.rt.key == ("", "namespaces") and target.name else target.namespace
            self.authorizer.authorize(
                user_info, verb, target.rt.group, target.rt.plural, target.subresource, scope, target.name
            )
        return user_info

    async def _dispatch(self, r: ApiRequest) -> web.StreamResponse:
        """The handler of the request's verb."""
        t = r.target
        if t.subresource == "token" and r.verb == "create":
            return create.token_request(self.store, self.token_registry, r)
        if t.rt.group == "authorization.k8s.io" and t.rt.plural in REVIEWS:
            return create.review(self.store, self.authorizer, r)
        if t.rt.key == ("authentication.k8s.io", "selfsubjectreviews"):
            return create.self_subject_review(self.store, r)
        if r.verb == "list":
            return get.list_(self.store, r)
        if r.verb == "watch":
            return await watch.watch(self.store, r, self.bookmark_interval, self.streams)
        if r.verb == "create":
            return create.create(self.store, r)
        if r.verb == "deletecollection":
            return delete.delete_collection(self.store, r)
        assert t.name is not None
        if t.subresource == "scale":
            return update.scale(self.store, r)
        handler = ITEM_HANDLERS.get(r.verb)
        if handler is None:
            raise errors.method_not_allowed()
        return handler(self.store, r)

    # --- authentication ---------------------------------------------------------------------------------

    def _authenticate(self, request: web.Request) -> UserInfo:
        """Bearer tokens name users; a wrong token is refused (401). A request without credentials is
        ``system:anonymous`` (group ``system:unauthenticated``), as the real anonymous authenticator makes it;
        over plain HTTP (``insecure``) it is the admin, as the old insecure port served it: client-go (kubectl)
        sends no bearer token over plain HTTP."""
        scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:  # no bearer token (basic auth is not served either)
            return rbac.ADMIN if self.insecure else rbac.ANONYMOUS
        name = self.tokens.get(token)
        if name is not None:
            return rbac.ADMIN if name == rbac.SUPERUSER else UserInfo(name, ("system:authenticated",))
        info = self.token_registry.users.get(token)
        if info is not None:
            return info
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

    async def close_streams(self) -> None:
        for response in list(self.streams):
            with contextlib.suppress(Exception):
                await response.write_eof()


def _admission_answers(requester: Requester, response: web.StreamResponse, record: dict[str, Any]) -> None:
    """Admission's warnings as ``Warning: 299 - "..."`` headers (kubectl prints them), its audit annotations in
    the audit record."""
    for warning in requester.warnings:
        escaped = warning.replace("\\", "\\\\").replace('"', '\\"')
        response.headers.add("Warning", f'299 - "{escaped}"')
    if requester.annotations:
        record["annotations"] = dict(requester.annotations)


def _audit_target(record: dict[str, Any], request: web.Request, target: Target, verb: str) -> None:
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
