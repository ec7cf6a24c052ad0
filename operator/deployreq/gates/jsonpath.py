"""The simple JSONPath http gates support: ``$.a.b``, ``.a.b``, ``a.b``, ``$.items[0].name``, ``$['a-b']``.

No filters, wildcards or slices: a gate compares one value. Values compare as strings: strings as they are,
``true``/``false``/``null`` and numbers as JSON spells them, objects and lists as compact JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

_TOKEN = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[['\"]([^'\"]+)['\"]\]")


class JsonPathError(ValueError):
    """The path is not one this module reads."""


def parse(path: str) -> tuple[str | int, ...]:
    """The path's steps (keys and list indexes); JsonPathError when not a simple path."""
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    if text and not text.startswith((".", "[")):
        text = "." + text
    steps: list[str | int] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise JsonPathError(
                f"jsonPath {path!r}: unsupported syntax at {text[pos:]!r} (use $.a.b, $.list[0] or $['key'])"
            )
        key, index, quoted = match.groups()
        steps.append(int(index) if index is not None else (key if key is not None else quoted))
        pos = match.end()
    return tuple(steps)


class MissingValueError(LookupError):
    """The document has no value at the path."""


def lookup(document: Any, steps: tuple[str | int, ...]) -> Any:
    """The value at ``steps``; MissingValueError naming the first absent step."""
    value = document
    for step in steps:
        in_list = isinstance(step, int) and isinstance(value, list) and step < len(value)
        in_dict = isinstance(step, str) and isinstance(value, dict) and step in value
        if in_list or in_dict:
            value = value[step]
        else:
            raise MissingValueError(f"no value at {step!r}")
    return value


def as_string(value: Any) -> str:
    """How a JSON value compares with ``jsonValue``."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
