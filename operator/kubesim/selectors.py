"""Label and field selectors, parsed as apimachinery's ``labels.Parse`` and ``fields.ParseSelector`` read them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from kubesim import errors
from kubesim.resources import ResourceType

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]

_SET_RE = re.compile(r"^\s*([^\s!=(),]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ_RE = re.compile(r"^\s*([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(!?)\s*([^\s!=(),]+)\s*$")


def _split(selector: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current)
    return parts


def _requirement(text: str) -> Callable[[dict[str, str]], bool]:
    if m := _SET_RE.match(text):
        key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if m := _EQ_RE.match(text):
        key, op, value = m.group(1), m.group(2), m.group(3)
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if m := _EXISTS_RE.match(text):
        negate, key = m.group(1) == "!", m.group(2)
        if negate:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise errors.bad_request(
        f"unable to parse requirement: found '{text.strip()}', expected: in, notin, =, ==, !=, gt, lt"
    )


def label_predicate(selector: str) -> Predicate:
    requirements = [_requirement(part) for part in _split(selector)]

    def matches(obj: Obj) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(req(labels) for req in requirements)

    return matches


def matches_label_selector(selector: Obj | None, labels: dict[str, str]) -> bool:
    """A LabelSelector object (matchLabels and matchExpressions); an empty selector matches everything."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), set(expr.get("values") or [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def selector_string(selector: Obj | None) -> str:
    """A LabelSelector as the string form (for kubectl-visible places and list calls)."""
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op = expr.get("operator")
        values = ",".join(sorted(expr.get("values") or []))
        if op == "In":
            parts.append(f"{expr['key']} in ({values})")
        elif op == "NotIn":
            parts.append(f"{expr['key']} notin ({values})")
        elif op == "Exists":
            parts.append(str(expr["key"]))
        elif op == "DoesNotExist":
            parts.append(f"!{expr['key']}")
    return ",".join(parts)


_COMMON_FIELDS = {"metadata.name": ("metadata", "name"), "metadata.namespace": ("metadata", "namespace")}
_TYPE_FIELDS: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    ("", "pods"): {
        "spec.nodeName": ("spec", "nodeName"),
        "spec.restartPolicy": ("spec", "restartPolicy"),
        "spec.schedulerName": ("spec", "schedulerName"),
        "spec.serviceAccountName": ("spec", "serviceAccountName"),
        "status.phase": ("status", "phase"),
        "status.podIP": ("status", "podIP"),
        "status.nominatedNodeName": ("status", "nominatedNodeName"),
    },
    ("", "events"): {
        f"involvedObject.{f}": ("involvedObject", f)
        for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
    }
    | {
        "reason": ("reason",),
        "type": ("type",),
        "source": ("source", "component"),
        "reportingComponent": ("reportingComponent",),
    },
    ("", "secrets"): {"type": ("type",)},
    ("", "namespaces"): {"status.phase": ("status", "phase")},
    ("apps", "replicasets"): {"status.replicas": ("status", "replicas")},
}


def _lookup(obj: Obj, path: tuple[str, ...]) -> str:
    value: Any = obj
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def field_predicate(rt: ResourceType, selector: str) -> Predicate:
    supported = {**_COMMON_FIELDS, **_TYPE_FIELDS.get(rt.key, {})}
    checks: list[Callable[[Obj], bool]] = []
    for part in _split(selector):
        m = _EQ_RE.match(part)
        if not m:
            raise errors.bad_request(f"invalid selector: '{selector}'; can't understand '{part.strip()}'")
        field, op, value = m.group(1), m.group(2), m.group(3)
        if field not in supported:
            raise errors.bad_request(f"field label not supported: {field}")
        path = supported[field]
        if op == "!=":
            checks.append(lambda o, p=path, v=value: _lookup(o, p) != v)  # type: ignore[misc]
        else:
            checks.append(lambda o, p=path, v=value: _lookup(o, p) == v)  # type: ignore[misc]
    return lambda obj: all(check(obj) for check in checks)
