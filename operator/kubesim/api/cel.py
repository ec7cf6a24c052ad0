"""``x-kubernetes-validations`` rules through cel-python: a rule's verdict and its message."""

from __future__ import annotations

import functools
from typing import Any

Obj = dict[str, Any]


@functools.lru_cache(maxsize=512)
def _cel_program(rule: str) -> Any:
    import celpy

    env = celpy.Environment()
    return env.program(env.compile(rule))


def evaluate(rule: str, value: Any, old: Any) -> bool:
    import celpy

    to_cel = celpy.json_to_cel  # type: ignore[attr-defined]
    activation = {"self": to_cel(value)}
    if old is not None:
        activation["oldSelf"] = to_cel(old)
    result = _cel_program(rule).evaluate(activation)
    if isinstance(result, Exception):
        raise result
    return bool(result)


def rule_message(rule: Obj, value: Any, old: Any) -> str:
    """``message``, or ``messageExpression`` evaluated like the rule (falling back as the server does)."""
    if rule.get("messageExpression"):
        import celpy

        to_cel = celpy.json_to_cel  # type: ignore[attr-defined]
        activation = {"self": to_cel(value)}
        if old is not None:
            activation["oldSelf"] = to_cel(old)
        try:
            result = _cel_program(rule["messageExpression"]).evaluate(activation)
        except Exception:  # an erroring messageExpression falls back to message or the rule
            result = None
        if isinstance(result, str) and result.strip():
            return str(result)
    return str(rule.get("message") or f"failed rule: {rule['rule']}")
