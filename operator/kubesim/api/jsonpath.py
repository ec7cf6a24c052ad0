"""The JSONPath subset CRD printer columns use, evaluated as client-go's jsonpath does: ``.a.b``, ``['a.b']``,
``[0]``, ``[-1]``, ``[*]``, ``[1:3]``, ``..name`` and filters ``[?(@.type=="Ready")]``."""

from __future__ import annotations

import json
import re
from typing import Any

_FILTER = re.compile(r"^@((?:\.[A-Za-z0-9_\-/]+|\['[^']*'\])*)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*$")


def _recurse(value: Any) -> list[Any]:
    """The value and everything under it, depth first (the ``..`` operator's candidates)."""
    out = [value]
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for child in children:
        out += _recurse(child)
    return out


def _literal(text: str) -> Any:
    text = text.strip()
    if text[:1] in ("'", '"') and text[-1:] == text[:1]:
        return text[1:-1]
    try:
        return json.loads(text)
    except ValueError:
        return text


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if not isinstance(left, int | float) or not isinstance(right, int | float):
        return False
    return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]


def _filter(items: Any, expression: str) -> list[Any]:
    m = _FILTER.match(expression)
    if not m or not isinstance(items, list):
        return []
    path, op, literal = m.group(1), m.group(2), m.group(3)
    out = []
    for item in items:
        found = evaluate(item, path) if path else [item]
        if op is None:
            if found:
                out.append(item)
        elif found and _compare(found[0], op, _literal(literal)):
            out.append(item)
    return out


def _tokens(path: str) -> list[str]:
    """Split a path into steps: ``.name``, ``..name``, ``[...]``."""
    steps: list[str] = []
    i = 0
    while i < len(path):
        if path.startswith("..", i):
            j = i + 2
            while j < len(path) and path[j] not in ".[":
                j += 1
            steps.append(path[i:j])
            i = j
        elif path[i] == ".":
            j = i + 1
            while j < len(path) and path[j] not in ".[":
                j += 1
            steps.append(path[i:j])
            i = j
        elif path[i] == "[":
            depth, j = 0, i
            quote = ""
            while j < len(path):
                ch = path[j]
                if quote:
                    quote = "" if ch == quote else quote
                elif ch in "'\"":
                    quote = ch
                elif ch == "[":
                    depth += 1
                elif ch == "]":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            steps.append(path[i : j + 1])
            i = j + 1
        else:
            j = i
            while j < len(path) and path[j] not in ".[":
                j += 1
            steps.append("." + path[i:j])
            i = j
    return steps


def _step(value: Any, step: str) -> list[Any]:
    if step.startswith(".."):
        name = step[2:]
        return [v[name] for v in _recurse(value) if isinstance(v, dict) and name in v]
    if step.startswith("."):
        name = step[1:]
        if name in ("", "*"):
            return list(value.values()) if isinstance(value, dict) and name == "*" else [value]
        return [value[name]] if isinstance(value, dict) and name in value else []
    inner = step[1:-1].strip()
    if inner.startswith("?(") and inner.endswith(")"):
        return _filter(value, inner[2:-1])
    if inner[:1] in ("'", '"'):
        key = inner[1:-1]
        return [value[key]] if isinstance(value, dict) and key in value else []
    if inner == "*":
        if isinstance(value, list):
            return list(value)
        return list(value.values()) if isinstance(value, dict) else []
    if not isinstance(value, list):
        return []
    if ":" in inner:
        parts = [int(p) if p.strip() else None for p in inner.split(":")[:2]]
        return value[parts[0] : parts[1]]
    try:
        index = int(inner)
    except ValueError:
        return []
    return [value[index]] if -len(value) <= index < len(value) else []


def evaluate(obj: Any, path: str) -> list[Any]:
    """Every value ``path`` selects in ``obj`` (empty when nothing matches)."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1].strip()
    path = path.removeprefix("$")
    values = [obj]
    for step in _tokens(path):
        values = [found for value in values for found in _step(value, step)]
    return values
