"""ServiceAccount tokens and RBAC authorization, evaluated as the real API server's RBAC authorizer does.

Users: the admin token is a superuser (group ``system:masters``); ServiceAccount tokens, issued by the TokenRequest
subresource (``kubectl create token SA``), authenticate as ``system:serviceaccount:NS:NAME`` with the groups
``system:serviceaccounts``, ``system:serviceaccounts:NS`` and ``system:authenticated``; a request without credentials
is ``system:anonymous`` in ``system:unauthenticated`` (see ``server._authenticate``). Users other than superusers get
exactly what their RoleBindings and ClusterRoleBindings grant, the bootstrap ones (kubesim.auth.bootstrappolicy)
included: rules match on API group, resource (``resource/subresource`` for subresources), verb and, when listed,
resourceNames; ``*`` matches anything; non-resource URLs (discovery, OpenAPI, /version, /healthz) by path.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from kubesim.api import errors
from kubesim.storage.store import Store

Obj = dict[str, Any]
SUPERUSER = "kubesim-admin"


@dataclass(frozen=True)
class UserInfo:
    name: str
    groups: tuple[str, ...] = ()

    @property
    def superuser(self) -> bool:
        return self.name == SUPERUSER or "system:masters" in self.groups


ADMIN = UserInfo(SUPERUSER, ("system:masters", "system:authenticated"))
ANONYMOUS = UserInfo("system:anonymous", ("system:unauthenticated",))
"""A request without credentials, as the real anonymous authenticator names it."""


@dataclass
class TokenRegistry:
    """Bearer token -> user."""

    users: dict[str, UserInfo] = field(default_factory=dict)

    def issue_for_service_account(self, namespace: str, name: str) -> str:
        token = f"kubesim-sa-{secrets.token_urlsafe(24)}"
        self.users[token] = UserInfo(
            f"system:serviceaccount:{namespace}:{name}",
            ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"),
        )
        return token


def _matches_subject(subject: Obj, user: UserInfo) -> bool:
    kind = subject.get("kind")
    if kind == "ServiceAccount":
        return user.name == f"system:serviceaccount:{subject.get('namespace')}:{subject.get('name')}"
    if kind == "User":
        return bool(subject.get("name") == user.name)
    if kind == "Group":
        return subject.get("name") in user.groups
    return False


def _rule_allows(rule: Obj, group: str, resource: str, verb: str, name: str) -> bool:
    if not any(g in ("*", group) for g in rule.get("apiGroups") or []):
        return False
    resources = rule.get("resources") or []
    sub = resource.partition("/")[2]
    if not any(r in ("*", resource) or (sub and r == f"*/{sub}") for r in resources):
        return False
    if not any(v in ("*", verb) for v in rule.get("verbs") or []):
        return False
    names = rule.get("resourceNames") or []
    return not names or (bool(name) and name in names)


def _describe_subject(subject: Obj, binding_namespace: str) -> str:
    kind = subject.get("kind", "")
    if kind == "ServiceAccount":
        return f'{kind} "{subject.get("name")}/{subject.get("namespace") or binding_namespace}"'
    return f'{kind} "{subject.get("name")}"'


def _non_resource_allows(rule: Obj, path: str, verb: str) -> bool:
    if not any(v in ("*", verb) for v in rule.get("verbs") or []):
        return False
    for url in rule.get("nonResourceURLs") or []:
        if url in (path, "*") or (url.endswith("*") and path.startswith(url[:-1])):
            return True
    return False


def impersonated(name: str, groups: list[str]) -> UserInfo:
    """The user an ``Impersonate-User``/``Impersonate-Group`` request runs as, with the groups the real
    impersonation filter adds."""
    out = list(groups)
    if name.startswith("system:serviceaccount:") and not groups:
        namespace = name.split(":")[2] if name.count(":") >= 3 else ""
        out += ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]
    if name != "system:anonymous" and not {"system:authenticated", "system:unauthenticated"} & set(out):
        out.append("system:authenticated")
    return UserInfo(name, tuple(out))


def forbidden_error(
    user: UserInfo,
    verb: str,
    group: str,
    plural: str,
    subresource: str | None,
    namespace: str | None,
    name: str | None,
) -> errors.ApiError:
    """The RBAC authorizer's 403: ``configmaps "x" is forbidden: User "u" cannot get resource ...``."""
    resource = f"{plural}/{subresource}" if subresource else plural
    qualified = f"{plural}.{group}" if group else plural
    subject = f'{qualified} "{name}"' if name else qualified
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    return errors.forbidden(
        f'{subject} is forbidden: User "{user.name}" cannot {verb} resource "{resource}" in API group '
        f'"{group}" {scope}',
        plural,
        group,
        name or "",
    )


def path_forbidden_error(user: UserInfo, verb: str, path: str) -> errors.ApiError:
    """The 403 for a non-resource URL: ``forbidden: User "system:anonymous" cannot get path "/api"``."""
    return errors.ApiError(
        403, "Forbidden", f'forbidden: User "{user.name}" cannot {verb} path "{path}"', details_always=True
    )


class Authorizer:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _sources(self, user: UserInfo, namespace: str) -> list[tuple[str, list[Obj]]]:
        """Where the user's rules come from (a binding described as the RBAC authorizer does) and the rules."""
        sources: list[tuple[str, list[Obj]]] = []
        crb = self.store.require("rbac.authorization.k8s.io", "clusterrolebindings")
        rb = self.store.require("rbac.authorization.k8s.io", "rolebindings")
        cluster_roles = self.store.require("rbac.authorization.k8s.io", "clusterroles")
        roles = self.store.require("rbac.authorization.k8s.io", "roles")
        for binding in self.store.iter(crb):
            subject = next((s for s in binding.get("subjects") or [] if _matches_subject(s, user)), None)
            if subject is None:
                continue
            ref = binding["roleRef"]
            role = self.store.peek(cluster_roles, None, ref["name"])
            described = (
                f'ClusterRoleBinding "{binding["metadata"]["name"]}" of ClusterRole "{ref["name"]}" to '
                + _describe_subject(subject, "")
            )
            sources.append((described, list((role or {}).get("rules") or [])))
        if namespace:
            for binding in self.store.iter(rb, namespace):
                subject = next((s for s in binding.get("subjects") or [] if _matches_subject(s, user)), None)
                if subject is None:
                    continue
                ref = binding["roleRef"]
                role = (
                    self.store.peek(cluster_roles, None, ref["name"])
                    if ref.get("kind") == "ClusterRole"
                    else self.store.peek(roles, namespace, ref["name"])
                )
                described = (
                    f'RoleBinding "{binding["metadata"]["name"]}/{namespace}" of {ref.get("kind")} '
                    f'"{ref["name"]}" to ' + _describe_subject(subject, namespace)
                )
                sources.append((described, list((role or {}).get("rules") or [])))
        return sources

    def _rules(self, user: UserInfo, namespace: str) -> list[Obj]:
        return [rule for _, rules in self._sources(user, namespace) for rule in rules]

    def decide(
        self,
        user: UserInfo,
        verb: str,
        group: str,
        resource: str,
        namespace: str | None,
        name: str | None,
        path: str | None = None,
    ) -> tuple[bool, str]:
        """Whether RBAC allows the request, and the reason a SubjectAccessReview reports. Superusers (the
        system:masters group) are allowed without a reason, as the privileged-group authorizer answers.
        ``path``: a non-resource request (``resource`` is then unused)."""
        if user.superuser:
            return True, ""
        for described, rules in self._sources(user, namespace or ""):
            for rule in rules:
                if path is not None:
                    if _non_resource_allows(rule, path, verb):
                        return True, f"RBAC: allowed by {described}"
                elif rule.get("resources") and _rule_allows(rule, group, resource, verb, name or ""):
                    return True, f"RBAC: allowed by {described}"
        return False, ""

    def rules_review(self, user: UserInfo, namespace: str) -> Obj:
        """A SelfSubjectRulesReview's status: every rule that applies in ``namespace``."""
        resource_rules: list[Obj] = []
        non_resource_rules: list[Obj] = []
        for _, rules in self._sources(user, namespace):
            for rule in rules:
                if rule.get("nonResourceURLs"):
                    non_resource_rules.append(
                        {
                            "verbs": list(rule.get("verbs") or []),
                            "nonResourceURLs": list(rule["nonResourceURLs"]),
                        }
                    )
                else:
                    out: Obj = {
                        "verbs": list(rule.get("verbs") or []),
                        "apiGroups": list(rule.get("apiGroups") or []),
                        "resources": list(rule.get("resources") or []),
                    }
                    if rule.get("resourceNames"):
                        out["resourceNames"] = list(rule["resourceNames"])
                    resource_rules.append(out)
        return {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": False}

    def authorize(
        self,
        user: UserInfo,
        verb: str,
        group: str,
        plural: str,
        subresource: str | None,
        namespace: str | None,
        name: str | None,
    ) -> None:
        """Raise 403 Forbidden with the real server's wording unless a rule allows the request."""
        if user.superuser:
            return
        resource = f"{plural}/{subresource}" if subresource else plural
        allowed, _ = self.decide(user, verb, group, resource, namespace, name)
        if not allowed:
            raise forbidden_error(user, verb, group, plural, subresource, namespace, name)

    def authorize_path(self, user: UserInfo, verb: str, path: str) -> None:
        """Raise 403 unless a rule allows the non-resource URL (discovery, OpenAPI, /version, /healthz)."""
        if not user.superuser and not self.decide(user, verb, "", "", None, None, path=path)[0]:
            raise path_forbidden_error(user, verb, path)

    def may_impersonate(self, requester: UserInfo, target: UserInfo, requested_groups: list[str]) -> bool:
        """The legacy impersonation check: ``impersonate`` on the user (or the ServiceAccount) and on every
        requested group."""
        if requester.superuser:
            return True
        if target.name.startswith("system:serviceaccount:") and target.name.count(":") == 3:
            _, _, namespace, name = target.name.split(":")
            if not self.decide(requester, "impersonate", "", "serviceaccounts", namespace, name)[0]:
                return False
        elif not self.decide(requester, "impersonate", "", "users", None, target.name)[0]:
            return False
        return all(self.decide(requester, "impersonate", "", "groups", None, g)[0] for g in requested_groups)
