"""``authorization.k8s.io`` reviews, answered as the real server does (``kubectl auth can-i``, ``--list``, and
controllers asking whether a user may act): SelfSubjectAccessReview, SubjectAccessReview,
LocalSubjectAccessReview and SelfSubjectRulesReview. Nothing is stored; RBAC decides (kubesim.auth.rbac)."""

from __future__ import annotations

from typing import Any

from kubesim.api import errors
from kubesim.api.resources import ResourceType
from kubesim.auth.rbac import Authorizer, UserInfo
from kubesim.registry.builtin_defaults import drop_nulls

Obj = dict[str, Any]


def _subject(rt: ResourceType, spec: Obj, requester: UserInfo) -> UserInfo:
    if rt.plural.startswith("self"):
        return requester
    return UserInfo(str(spec.get("user") or ""), tuple(spec.get("groups") or ()))


def review(
    authorizer: Authorizer, rt: ResourceType, namespace: str | None, body: Obj, requester: UserInfo
) -> Obj:
    """The review with its status filled in (metadata as the request's, managedFields included)."""
    drop_nulls(body)
    spec: Obj = body.get("spec") or {}
    meta = {k: v for k, v in (body.get("metadata") or {}).items() if k == "managedFields"}
    if rt.plural == "selfsubjectrulesreviews":
        subject = _subject(rt, spec, requester)
        rules = authorizer.rules_review(subject, str(spec.get("namespace") or ""))
        return {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": {}, "spec": {}, "status": rules}
    resource: Obj = spec.get("resourceAttributes") or {}
    non_resource: Obj = spec.get("nonResourceAttributes") or {}
    if not resource and not non_resource:
        raise errors.invalid(
            rt.kind,
            rt.group,
            "",
            [
                errors.Cause(
                    "spec.resourceAttributes",
                    'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be '
                    "specified",
                )
            ],
        )
    subject = _subject(rt, spec, requester)
    allowed, reason = _decide(authorizer, rt, namespace, subject, resource, non_resource)
    status: Obj = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    out: Obj = {
        "kind": rt.kind,
        "apiVersion": rt.api_version,
        "metadata": meta,
        "spec": spec,
        "status": status,
    }
    if rt.namespaced and namespace:
        out["metadata"]["namespace"] = namespace
    return out


def _decide(
    authorizer: Authorizer,
    rt: ResourceType,
    namespace: str | None,
    subject: UserInfo,
    resource: Obj,
    non_resource: Obj,
) -> tuple[bool, str]:
    """The authorizer's verdict on the review's resource or non-resource attributes."""
    if resource:
        if rt.plural == "localsubjectaccessreviews":
            resource.setdefault("namespace", namespace or "")
        plural = str(resource.get("resource") or "")
        sub = str(resource.get("subresource") or "")
        return authorizer.decide(
            subject,
            str(resource.get("verb") or ""),
            str(resource.get("group") or ""),
            f"{plural}/{sub}" if sub else plural,
            resource.get("namespace") or None,
            resource.get("name") or None,
        )
    return authorizer.decide(
        subject,
        str(non_resource.get("verb") or ""),
        "",
        "",
        None,
        None,
        path=str(non_resource.get("path") or ""),
    )
