"""POST of a new object (apiserver's ``handlers/create.go``), and the create-only resources answered without
being stored: TokenRequest, the access reviews and SelfSubjectReview."""

from __future__ import annotations

import time

from aiohttp import web

from kubesim.api import errors
from kubesim.auth import authz
from kubesim.auth.rbac import Authorizer, TokenRegistry
from kubesim.endpoints.codec import JSON, decode, decode_typed, json_response, kind_missing
from kubesim.endpoints.fieldmanager import manage
from kubesim.endpoints.request import ApiRequest
from kubesim.storage.objects import now_rfc3339
from kubesim.storage.store import Store


def create(store: Store, r: ApiRequest) -> web.Response:
    t = r.target
    obj = decode_typed(r.http.headers.get("Content-Type", JSON), t.rt, r.body)
    if t.rt.is_custom and not obj.get("kind"):
        raise kind_missing(t.rt, r.body)
    manage(r, store.clock, obj, None, "Update")
    namespace = None if t.rt.key == ("", "namespaces") or not t.rt.namespaced else t.namespace
    created = store.create(
        t.rt,
        namespace,
        obj,
        user=r.user,
        dry_run=r.dry_run,
        strict=r.strict,
        owned=True,
        copy=False,
        requester=r.requester,
    )
    return json_response(created, 201)


def review(store: Store, authorizer: Authorizer | None, r: ApiRequest) -> web.Response:
    """SelfSubjectAccessReview, SubjectAccessReview, LocalSubjectAccessReview, SelfSubjectRulesReview."""
    t = r.target
    if r.verb != "create" or authorizer is None:
        raise errors.method_not_allowed()
    obj = decode(r.body)
    manage(r, store.clock, obj, None, "Update")
    return json_response(authz.review(authorizer, t.rt, t.namespace, obj, r.user_info), 201)


def token_request(store: Store, tokens: TokenRegistry, r: ApiRequest) -> web.Response:
    """TokenRequest: a bearer token for the ServiceAccount (``kubectl create token``)."""
    t = r.target
    store.get(t.rt, t.namespace, r.name)  # 404 for an unknown ServiceAccount
    token = tokens.issue_for_service_account(t.namespace or "", r.name)
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    return json_response(
        {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": r.name, "namespace": t.namespace},
            "spec": {"audiences": ["https://kubernetes.default.svc"], "expirationSeconds": 3600},
            "status": {"token": token, "expirationTimestamp": expires},
        },
        201,
    )


def self_subject_review(store: Store, r: ApiRequest) -> web.Response:
    """SelfSubjectReview (``kubectl auth whoami``): the user the server authenticated (after impersonation), in a
    new object as the registry's ``selfsubjectreview`` REST makes it: only its creationTimestamp and status."""
    if r.verb != "create":
        raise errors.method_not_allowed()
    decode(r.body)  # a body that is not an object is refused as on any create
    user: dict[str, object] = {"username": r.user_info.name}
    if r.user_info.groups:
        user["groups"] = list(r.user_info.groups)
    return json_response(
        {
            "kind": "SelfSubjectReview",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": now_rfc3339(store.clock)},
            "status": {"userInfo": user},
        },
        201,
    )
