"""What a gate may write about what it saw: Secret values masked, target data cut to a short excerpt.

Everything a gate's target returns and every Secret value a gate sends is the user's or the target's data, not
the operator's to publish: status, Events, notifications and logs carry only which check failed, what was
expected and, where it helps, a short excerpt with control characters replaced and the request's Secret
values masked.
"""

from __future__ import annotations

import json

MASK = "***"
EXCERPT_CHARS = 64


class Redactor:
    """Masks the Secret values one request's gates have sent; :meth:`remember` each value when read."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def remember(self, value: str) -> None:
        if not value.strip():
            return
        self._values.add(value)
        escaped = json.dumps(value)[1:-1]  # the value as a JSON body would echo it
        if escaped != value:
            self._values.add(escaped)

    def __call__(self, text: str) -> str:
        for value in sorted(self._values, key=len, reverse=True):
            text = text.replace(value, MASK)
        return text


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` as a short, printable excerpt: control characters become ``?``, the rest is cut at ``limit``."""
    printable = "".join(c if c.isprintable() else "?" for c in text)
    return printable if len(printable) <= limit else printable[: limit - 1] + "…"
