"""Which writes a policy or binding applies to (apiserver's ``admission/plugin/policy/matching`` and the webhook
predicates: rules, namespace and object selectors)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubesim.api.selectors import matches_label_selector
from kubesim.storage.admission import Operation, Requester

Obj = dict[str, Any]
OPERATIONS = {"create": "CREATE", "update": "UPDATE", "delete": "DELETE"}


@dataclass(frozen=True)
class Attributes:
    """admission.Attributes of one write, as the policy plugin reads them."""

    operation: str  # CREATE | UPDATE | DELETE
    group: str
    version: str
    resource: str
    subresource: str
    kind: str
    namespace: str  # "" for cluster-scoped resources
    name: str
    obj: Obj | None
    old: Obj | None
    requester: Requester

    @classmethod
    def of(cls, op: Operation, requester: Requester) -> Attributes:
        rt = op.rt
        meta = op.obj.get("metadata") or {}
        return cls(
            operation=OPERATIONS[op.verb],
            group=rt.group,
            version=rt.version,
            resource=rt.plural,
            subresource=op.subresource or "",
            kind=rt.kind,
            namespace=_namespace(op, str(meta.get("name") or "")),
            name="" if requester.collection else str(meta.get("name") or ""),
            obj=None if op.verb == "delete" else op.obj,
            old=op.old,
            requester=requester,
        )

    @property
    def is_namespace(self) -> bool:
        return self.group == "" and self.resource == "namespaces"


def _namespace(op: Operation, name: str) -> str:
    """The request's namespace: a Namespace's own name once it exists (its URL names it, and RequestInfo reads
    ``namespaces/NAME`` as the namespace), none for cluster-scoped resources and a Namespace's create."""
    if op.rt.key == ("", "namespaces"):
        return "" if op.verb == "create" else name
    return op.namespace if op.rt.namespaced else ""


def rule_matches(rule: Obj, a: Attributes) -> bool:
    """rules.Matcher: scope, operation, group, version and resource (with ``res/sub`` wildcards)."""
    scope = rule.get("scope") or "*"
    if scope == "Namespaced" and (a.is_namespace or not a.namespace):
        return False
    if scope == "Cluster" and not (a.is_namespace or not a.namespace):
        return False
    operations = rule.get("operations") or []
    if "*" not in operations and a.operation not in operations:
        return False
    groups, versions = rule.get("apiGroups") or [], rule.get("apiVersions") or []
    if not ({"*", a.group} & set(groups)) or not ({"*", a.version} & set(versions)):
        return False
    for item in rule.get("resources") or []:
        res, _, sub = str(item).partition("/")
        if res in ("*", a.resource) and sub in ("*", a.subresource):
            return True
    return False


def _rules_match(rules: list[Obj], a: Attributes) -> bool:
    for rule in rules:
        if rule_matches(rule, a):
            names = rule.get("resourceNames") or []
            if not names or a.name in names:
                return True
    return False


def resources_match(match: Obj, a: Attributes, namespace_labels: dict[str, str] | None) -> bool:
    """matching.Matcher.Matches: the namespace and object selectors, the excluded rules, then the rules (none:
    everything). ``namespace_labels``: the labels of the request's namespace (None when it has none)."""
    if (a.namespace or a.is_namespace) and not matches_label_selector(
        match.get("namespaceSelector"), namespace_labels or {}
    ):
        return False
    selector = match.get("objectSelector")
    if selector and not any(
        o is not None and matches_label_selector(selector, (o.get("metadata") or {}).get("labels") or {})
        for o in (a.obj, a.old)
    ):
        return False
    if _rules_match(match.get("excludeResourceRules") or [], a):
        return False
    rules = match.get("resourceRules") or []
    return not rules or _rules_match(rules, a)
