"""ServiceAccount tokens and RBAC authorization, evaluated as the real API server's RBAC authorizer does.

Users: the admin token (and requests without credentials, see ``server._authenticate``) are superusers;
ServiceAccount tokens, issued by the TokenRequest subresource (``kubectl create token SA``), authenticate as
``system:serviceaccount:NS:NAME`` with the groups ``system:serviceaccounts``, ``system:serviceaccounts:NS`` and
``system:authenticated``. Such users get exactly what their RoleBindings and ClusterRoleBindings grant: rules match on
API group, resource (``resource/subresource`` for subresources), verb and, when listed, resourceNames; ``*`` matches
anything. Non-resource URLs (discovery, OpenAPI, /version) are open to authenticated users, as the default
``system:discovery`` binding makes them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from kubesim import errors
from kubesim.store import Store

Obj = dict[str, Any]
SUPERUSER = "kubesim-admin"


@dataclass(frozen=True)
class UserInfo:
    name: str
    groups: tuple[str, ...] = ()

    @property
    def superuser(self) -> bool:
        return self.name == SUPERUSER or "system:masters" in self.groups


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


class Authorizer:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _rules(self, user: UserInfo, namespace: str) -> list[Obj]:
        rules: list[Obj] = []
        crb = self.store.require("rbac.authorization.k8s.io", "clusterrolebindings")
        rb = self.store.require("rbac.authorization.k8s.io", "rolebindings")
        cluster_roles = self.store.require("rbac.authorization.k8s.io", "clusterroles")
        roles = self.store.require("rbac.authorization.k8s.io", "roles")
        for binding in self.store.iter(crb):
            if any(_matches_subject(s, user) for s in binding.get("subjects") or []):
                role = self.store.peek(cluster_roles, None, binding["roleRef"]["name"])
                rules.extend((role or {}).get("rules") or [])
        if namespace:
            for binding in self.store.iter(rb, namespace):
                if not any(_matches_subject(s, user) for s in binding.get("subjects") or []):
                    continue
                ref = binding["roleRef"]
                role = (
                    self.store.peek(cluster_roles, None, ref["name"])
                    if ref.get("kind") == "ClusterRole"
                    else self.store.peek(roles, namespace, ref["name"])
                )
                rules.extend((role or {}).get("rules") or [])
        return rules

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
        if any(
            _rule_allows(rule, group, resource, verb, name or "")
            for rule in self._rules(user, namespace or "")
        ):
            return
        qualified = f"{plural}.{group}" if group else plural
        subject = f'{qualified} "{name}"' if name else qualified
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        sub_text = f'resource "{resource}"'
        raise errors.forbidden(
            f'{subject} is forbidden: User "{user.name}" cannot {verb} {sub_text} in API group '
            f'"{group}" {scope}',
            plural,
            group,
            name or "",
        )
