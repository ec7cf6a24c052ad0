"""``x-kubernetes-validations`` rules through cel-python: a rule's verdict and its message."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def evaluate(rule: str, value: Any, old: Any) -> bool:
    """The rule's verdict; an evaluation error is raised as ``policy_cel.CelEvalError`` in cel-go's words."""
    from kubesim.api import policy_cel

    activation = {"self": policy_cel.to_cel(value)}
    if old is not None:
        activation["oldSelf"] = policy_cel.to_cel(old)
    return bool(policy_cel.evaluate(rule, activation))


def error_text(rule: Obj, error: str) -> str:
    """A field error's detail for a rule that failed to evaluate, as the apiextensions validator words it (the
    rule's message, else the rule itself)."""
    shown = str(rule.get("message") or "").strip() or str(rule["rule"]).strip()
    if error.startswith("no such overload"):
        return (
            f"'{error}': call arguments did not match a supported operator, function or macro signature "
            f"for rule: {shown}"
        )
    return f"{error} evaluating rule: {shown}"


def rule_message(rule: Obj, value: Any, old: Any) -> str:
    """``message``, or ``messageExpression`` evaluated like the rule (falling back as the server does)."""
    if rule.get("messageExpression"):
        from kubesim.api import policy_cel

        activation = {"self": policy_cel.to_cel(value)}
        if old is not None:
            activation["oldSelf"] = policy_cel.to_cel(old)
        try:
            result = policy_cel.evaluate(rule["messageExpression"], activation)
        except Exception:  # an erroring messageExpression falls back to message or the rule
            result = None
        if isinstance(result, str) and result.strip():
            return str(result)
    return str(rule.get("message") or f"failed rule: {rule['rule']}")
