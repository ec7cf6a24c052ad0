"""One policy evaluated for one write and one parameter object (apiserver's ``policy/validating/validator.go``):
the match conditions, then the validations with their messages, then the audit annotations, over the CEL variables
``object``, ``oldObject``, ``request``, ``params``, ``namespaceObject`` and ``variables``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from celpy import celtypes

from kubesim.admission.matching import Attributes
from kubesim.api import policy_cel
from kubesim.api.policy_cel import CelEvalError

Obj = dict[str, Any]
MAX_MESSAGE_BYTES = 5 * 1024  # celconfig.MaxEvaluatedMessageExpressionSizeBytes
MAX_ANNOTATION_BYTES = 10 * 1024


@dataclass
class Decision:
    message: str
    reason: str = "Invalid"
    index: int = -1  # the validation's index (-1: an error before the validations)


@dataclass
class Result:
    denials: list[Decision] = field(default_factory=list)
    annotations: list[tuple[str, str]] = field(default_factory=list)
    annotation_errors: list[str] = field(default_factory=list)


class _Variables(celtypes.MapType):
    """``variables``: each evaluated on first use, in the policy's activation (composition's lazy map)."""

    def __init__(self, expressions: dict[str, str], activation: dict[str, Any]) -> None:
        super().__init__({celtypes.StringType(k): celtypes.StringType("") for k in expressions})
        self._expressions = expressions
        self._activation = activation
        self._values: dict[str, Any] = {}

    def __getitem__(self, key: Any) -> Any:
        name = str(key)
        if name not in self._expressions:
            raise KeyError(key)
        if name not in self._values:
            try:
                self._values[name] = policy_cel.evaluate(self._expressions[name], self._activation)
            except CelEvalError as err:
                self._values[name] = CelEvalError(f'composited variable "{name}" fails to evaluate: {err}')
        value = self._values[name]
        if isinstance(value, CelEvalError):
            raise value
        return value


def request_object(a: Attributes) -> Obj:
    """The AdmissionRequest as CEL's ``request`` sees it (empty fields omitted as Go's omitempty does)."""
    kind = {"group": a.group, "version": a.version, "kind": a.kind}
    resource = {"group": a.group, "version": a.version, "resource": a.resource}
    user: Obj = {"username": a.requester.name}
    if a.requester.uid:
        user["uid"] = a.requester.uid
    if a.requester.groups:
        user["groups"] = list(a.requester.groups)
    request: Obj = {"uid": "", "kind": kind, "resource": resource}
    if a.subresource:
        request["subResource"] = a.subresource
    request.update(requestKind=kind, requestResource=resource)
    if a.subresource:
        request["requestSubResource"] = a.subresource
    if a.name:
        request["name"] = a.name
    if a.namespace:
        request["namespace"] = a.namespace
    request.update(operation=a.operation, userInfo=user, dryRun=a.requester.dry_run)
    return request


def activation(spec: Obj, a: Attributes, param: Obj | None, namespace: Obj | None) -> dict[str, Any]:
    """The CEL variables the policy's expressions read (converting an object to CEL values is most of an
    evaluation's cost)."""
    needed = _names(spec)
    to_cel = policy_cel.to_cel
    sources: dict[str, Callable[[], Any]] = {
        "object": lambda: a.obj,
        "oldObject": lambda: a.old,
        "request": lambda: request_object(a),
        "params": lambda: param,
        "namespaceObject": lambda: _namespace_object(namespace),
    }
    values: dict[str, Any] = {name: to_cel(source()) for name, source in sources.items() if name in needed}
    expressions = {str(v.get("name")): str(v.get("expression")) for v in spec.get("variables") or []}
    values["variables"] = _Variables(expressions, values)
    return values


def _names(spec: Obj) -> set[str]:
    expressions = [str(v.get("expression") or "") for v in spec.get("validations") or []]
    expressions += [str(v.get("messageExpression") or "") for v in spec.get("validations") or []]
    for key, field_name in (("matchConditions", "expression"), ("variables", "expression")):
        expressions += [str(v.get(field_name) or "") for v in spec.get(key) or []]
    expressions += [str(v.get("valueExpression") or "") for v in spec.get("auditAnnotations") or []]
    for mutation in spec.get("mutations") or []:
        for key in ("jsonPatch", "applyConfiguration"):
            expressions.append(str((mutation.get(key) or {}).get("expression") or ""))
    names: set[str] = set()
    for expression in expressions:
        if expression:
            names |= policy_cel.names_used(expression)
    return names


def _namespace_object(namespace: Obj | None) -> Obj | None:
    """CreateNamespaceObject: the namespace's metadata without managedFields and ownerReferences, spec, status."""
    if namespace is None:
        return None
    meta = {k: v for k, v in namespace["metadata"].items() if k not in ("managedFields", "ownerReferences")}
    return {"metadata": meta, "spec": namespace.get("spec") or {}, "status": namespace.get("status") or {}}


def eval_expression(expression: str, values: dict[str, Any]) -> Any:
    try:
        return policy_cel.evaluate(expression, values)
    except CelEvalError as err:
        raise CelEvalError(f"expression '{expression}' resulted in error: {err}") from None


def matches(spec: Obj, values: dict[str, Any], fail: bool) -> Decision | bool:
    """The match conditions: False when one is false; an error (failurePolicy Fail) when none is false."""
    failures: list[str] = []
    for condition in spec.get("matchConditions") or []:
        try:
            result = eval_expression(str(condition.get("expression")), {**values, "namespaceObject": None})
        except CelEvalError as err:
            failures.append(str(err))
            continue
        if result is False or result == celtypes.BoolType(False):
            return False
    if failures:
        return (
            Decision(failures[0] if len(failures) == 1 else "[" + ", ".join(failures) + "]")
            if fail
            else False
        )
    return True


def validate(spec: Obj, a: Attributes, param: Obj | None, namespace: Obj | None) -> Result:
    fail = spec.get("failurePolicy", "Fail") != "Ignore"
    values = activation(spec, a, param, namespace)
    result = Result()
    matched = matches(spec, values, fail)
    if isinstance(matched, Decision):
        result.denials.append(matched)
        return result
    if not matched:
        return result
    for index, validation in enumerate(spec.get("validations") or []):
        decision = _validation(validation, values, fail)
        if decision is not None:
            decision.index = index
            result.denials.append(decision)
    for annotation in spec.get("auditAnnotations") or []:
        _annotation(annotation, values, fail, result)
    return result


def _validation(validation: Obj, values: dict[str, Any], fail: bool) -> Decision | None:
    expression = str(validation.get("expression") or "")
    try:
        verdict = eval_expression(expression, values)
    except CelEvalError as err:
        return Decision(str(err)) if fail else None
    if verdict is True or verdict == celtypes.BoolType(True):
        return None
    return Decision(_message(validation, values), validation.get("reason") or "Invalid")


def _message(validation: Obj, values: dict[str, Any]) -> str:
    """messageExpression's string if usable (not empty, one line, not too long), else message, else the
    expression."""
    message = ""
    if validation.get("messageExpression"):
        try:
            value = policy_cel.evaluate(str(validation["messageExpression"]), {**values, "authorizer": None})
        except CelEvalError:
            value = None
        if isinstance(value, str):
            message = value.strip()
            if len(message.encode()) > MAX_MESSAGE_BYTES or "\n" in message:
                message = ""
    if not message and str(validation.get("message") or "").strip():
        message = str(validation["message"]).strip()
    return message or f"failed expression: {str(validation.get('expression') or '').strip()}"


def _annotation(annotation: Obj, values: dict[str, Any], fail: bool, result: Result) -> None:
    expression = str(annotation.get("valueExpression") or "")
    try:
        value = eval_expression(expression, values)
    except CelEvalError as err:
        if fail:
            result.annotation_errors.append(str(err))
        return
    if value is None:
        return
    if not isinstance(value, str):
        if fail:
            result.annotation_errors.append(
                f"valueExpression '{expression}' resulted in unsupported return type: {_type_name(value)}. "
                "Return type must be either string or null."
            )
        return
    if value.strip():
        result.annotations.append((str(annotation.get("key")), value.strip()[:MAX_ANNOTATION_BYTES]))


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map"
    return type(value).__name__
