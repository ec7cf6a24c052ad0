"""Label and field selectors, parsed as apimachinery's ``labels.Parse`` and ``fields.ParseSelector`` read them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from kubesim.api import errors
from kubesim.api.label_validation import label_key_error
from kubesim.api.resources import ResourceType

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]

_EQ_RE = re.compile(r"^\s*([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)\s*$")
_SPECIAL = "=!(),<>"
_SYMBOLS = ("!=", "==", "=", "!", "(", ")", ",", "<", ">")
_END = ""  # the end-of-string token's literal
_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_BINARY = "in, notin, =, ==, !=, gt, lt"


def _split(selector: str) -> list[str]:
    """Split on commas outside parentheses (field selectors)."""
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


def _lex(selector: str) -> list[tuple[str, str]]:
    """Tokens as labels' lexer makes them: (kind, literal), kind ``id`` or the symbol itself, then the end."""
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(selector):
        ch = selector[i]
        if ch.isspace():
            i += 1
        elif ch in _SPECIAL:
            symbol = next(sym for sym in _SYMBOLS if selector.startswith(sym, i))
            tokens.append((symbol, symbol))
            i += len(symbol)
        else:
            j = i
            while j < len(selector) and not selector[j].isspace() and selector[j] not in _SPECIAL:
                j += 1
            tokens.append(("id", selector[i:j]))
            i = j
    tokens.append((_END, _END))
    return tokens


class _LabelParser:
    """labels.Parse's grammar and its error texts (a requirement's own errors carry ``unable to parse
    requirement:``, errors between requirements do not)."""

    def __init__(self, selector: str) -> None:
        self.tokens = _lex(selector)
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos]

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.pos]
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return token

    def parse(self) -> list[Callable[[dict[str, str]], bool]]:
        requirements: list[Callable[[dict[str, str]], bool]] = []
        while True:
            kind, literal = self.peek()
            if kind == _END:
                return requirements
            if kind not in ("id", "!"):
                raise ValueError(f"found '{literal}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self.requirement())
            except ValueError as exc:
                raise ValueError(f"unable to parse requirement: {exc}") from None
            kind, literal = self.take()
            if kind == _END:
                return requirements
            if kind != ",":
                raise ValueError(f"found '{literal}', expected: ',' or 'end of string'")
            kind, literal = self.peek()
            if kind not in ("id", "!"):
                raise ValueError(f"found '{literal}', expected: identifier after ','")

    def requirement(self) -> Callable[[dict[str, str]], bool]:
        kind, key = self.take()
        negate = kind == "!"
        if negate:
            kind, key = self.take()
        if kind != "id":
            raise ValueError(f"found '{key}', expected: identifier")
        if negate:
            _check_key(key)
            return lambda labels: key not in labels
        if self.peek()[0] in (_END, ","):
            _check_key(key)
            return lambda labels: key in labels
        kind, op = self.take()
        op = {">": "gt", "<": "lt"}.get(kind, op)
        if kind == "id" and op not in ("in", "notin"):
            raise ValueError(f"found '{op}', expected: {_BINARY}")
        if kind not in ("id", "=", "==", "!=", ">", "<"):
            raise ValueError(f"found '{op}', expected: {_BINARY}")
        values = self.value_set() if op in ("in", "notin") else {self.exact_value()}
        _check_key(key)
        for i, value in enumerate(sorted(values)):
            if not _LABEL_VALUE_RE.match(value) or len(value) > 63:
                raise ValueError(
                    f'values[{i}][{key}]: Invalid value: "{value}": a valid label must be an empty string or '
                    "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                    "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
                    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
                )
        if op in ("gt", "lt"):
            (text,) = values
            if not re.fullmatch(r"-?\d+", text):
                raise ValueError(
                    f"values[0]: Invalid value: \"{text}\": for 'Gt', 'Lt' operators, the value must be an integer"
                )
            bound = int(text)
            return lambda labels: _int_compare(labels.get(key), bound, op)
        if op in ("in", "=", "=="):
            return lambda labels: key in labels and labels[key] in values
        return lambda labels: key not in labels or labels[key] not in values

    def exact_value(self) -> str:
        if self.peek()[0] in (_END, ","):
            return ""
        kind, literal = self.take()
        if kind != "id":
            raise ValueError(f"found '{literal}', expected: identifier")
        return literal

    def value_set(self) -> set[str]:
        kind, literal = self.take()
        if kind != "(":
            raise ValueError(f"found '{literal}' expected: '('")
        values: set[str] = set()
        expect_value = True
        while True:
            kind, literal = self.take()
            if kind == ")":
                if expect_value:
                    values.add("")
                return values
            if kind == "id" and expect_value:
                values.add(literal)
                expect_value = False
            elif kind == ",":
                if expect_value:
                    values.add("")
                expect_value = True
            elif kind == _END:
                raise ValueError(
                    "found '', expected: ',' or ')'" if not expect_value else "found '', expected: ')'"
                )
            else:
                raise ValueError(f"found '{literal}', expected: ',', ')' or identifier")


def _check_key(key: str) -> None:
    """NewRequirement validates the key (IsQualifiedName) once the requirement has parsed."""
    message = label_key_error(key)
    if message is not None:
        raise ValueError(message)


def _int_compare(label: str | None, bound: int, op: str) -> bool:
    if label is None or not re.fullmatch(r"-?\d+", label):
        return False
    return int(label) > bound if op == "gt" else int(label) < bound


def label_predicate(selector: str) -> Predicate:
    """A label selector string as a predicate on objects; 400 with labels.Parse's message on bad syntax."""
    try:
        requirements = _LabelParser(selector).parse()
    except ValueError as exc:
        raise errors.bad_request(str(exc)) from None

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
    """A LabelSelector as metav1.FormatLabelSelector writes it (requirements sorted by key), "" when empty."""
    if not selector:
        return ""
    parts = [(str(k), f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key, op = str(expr.get("key")), expr.get("operator")
        values = ",".join(sorted(expr.get("values") or []))
        if op == "In":
            parts.append((key, f"{key} in ({values})"))
        elif op == "NotIn":
            parts.append((key, f"{key} notin ({values})"))
        elif op == "Exists":
            parts.append((key, key))
        elif op == "DoesNotExist":
            parts.append((key, f"!{key}"))
    return ",".join(text for _, text in sorted(parts, key=lambda part: part[0]))


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


# kinds with their own field label conversion func (``field label not supported``); every other built-in falls
# back to runtime.DefaultMetaV1FieldSelectorConversion and its wording
_OWN_CONVERSION = frozenset(
    {
        ("", "pods"),
        ("", "nodes"),
        ("", "events"),
        ("", "namespaces"),
        ("", "secrets"),
        ("", "replicationcontrollers"),
        ("", "persistentvolumes"),
        ("apps", "replicasets"),
        ("batch", "jobs"),
        ("certificates.k8s.io", "certificatesigningrequests"),
    }
)


def _unsupported_field(rt: ResourceType, field: str) -> str:
    if rt.is_custom or rt.key in _OWN_CONVERSION:
        return f"field label not supported: {field}"
    return f'"{field}" is not a known field selector: only "metadata.name", "metadata.namespace"'


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
            raise errors.bad_request(_unsupported_field(rt, field))
        path = supported[field]
        if op == "!=":
            checks.append(lambda o, p=path, v=value: _lookup(o, p) != v)  # type: ignore[misc]
        else:
            checks.append(lambda o, p=path, v=value: _lookup(o, p) == v)  # type: ignore[misc]
    return lambda obj: all(check(obj) for check in checks)
