"""ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding (``pkg/registry/admissionregistration``):
defaults (``apis/admissionregistration/v1/defaults.go``) and validation (``validation.go``) with the real messages,
CEL expressions compiled as the real server compiles them (see :mod:`kubesim.api.policy_cel` for what differs)."""

from __future__ import annotations

import json
import re
from typing import Any

from kubesim.api import errors, policy_cel
from kubesim.registry import mutatingpolicies
from kubesim.storage.admission import Operation

Obj = dict[str, Any]
Causes = list[errors.Cause]
GROUP = "admissionregistration.k8s.io"
_OPERATIONS = ("*", "CONNECT", "CREATE", "DELETE", "UPDATE")
_IDENT = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9]*$")
_RESERVED = frozenset(
    [
        "true",
        "false",
        "null",
        "in",
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
    ]
)
_RESERVED2 = frozenset(["package", "namespace", "return", "var", "void", "while"])
BINDING_KINDS = ("validatingadmissionpolicybindings", "mutatingadmissionpolicybindings")
_VARIABLES = frozenset({"object", "oldObject", "request", "namespaceObject", "authorizer", "variables"})


def _required(path: str, detail: str = "") -> errors.Cause:
    return errors.Cause(
        path, f"Required value: {detail}" if detail else "Required value", "FieldValueRequired"
    )


def _invalid(path: str, value: Any, detail: str) -> errors.Cause:
    shown = json.dumps(value, separators=(",", ":"))
    return errors.Cause(path, f"Invalid value: {shown}: {detail}", "FieldValueInvalid")


def _unsupported(path: str, value: Any, supported: tuple[str, ...]) -> errors.Cause:
    listed = ", ".join(json.dumps(s) for s in supported)
    message = f"Unsupported value: {json.dumps(value)}: supported values: {listed}"
    return errors.Cause(path, message, "FieldValueNotSupported")


def default_match(match: Obj) -> None:
    """SetDefaults_MatchResources and SetDefaults_Rule."""
    match.setdefault("namespaceSelector", {})
    match.setdefault("objectSelector", {})
    for key in ("resourceRules", "excludeResourceRules"):
        for rule in match.get(key) or []:
            rule.setdefault("scope", "*")
    match.setdefault("matchPolicy", "Equivalent")


def defaults(key: tuple[str, str], obj: Obj) -> None:
    """The scheme's defaults of the two kinds (applied when a body is decoded, so their fields are owned)."""
    spec = obj.get("spec")
    if key[0] != GROUP or not isinstance(spec, dict):
        return
    if key[1] in ("validatingadmissionpolicies", "mutatingadmissionpolicies"):
        spec.setdefault("failurePolicy", "Fail")
        if isinstance(spec.get("matchConstraints"), dict):
            default_match(spec["matchConstraints"])
    elif key[1] in BINDING_KINDS and isinstance(spec.get("matchResources"), dict):
        default_match(spec["matchResources"])


def admit_admission_config(op: Operation) -> None:
    """The registry's defaults and validation for the two kinds (create and update; /status is not validated)."""
    if op.verb == "delete" or op.rt.group != GROUP or op.subresource:
        return
    spec = op.obj.setdefault("spec", {})
    name = str(op.obj["metadata"].get("name") or "")
    defaults(op.rt.key, op.obj)
    if op.rt.plural == "validatingadmissionpolicies":
        if op.verb == "create":
            op.obj["status"] = {}
        causes = validate_policy(spec)
    elif op.rt.plural == "validatingadmissionpolicybindings":
        causes = validate_binding(spec)
    elif op.rt.plural == "mutatingadmissionpolicies":
        causes = mutatingpolicies.validate_policy(spec)
    elif op.rt.plural == "mutatingadmissionpolicybindings":
        causes = mutatingpolicies.validate_binding(spec)
    else:
        return
    if causes:
        raise errors.invalid(op.rt.kind, GROUP, name, causes)


# --- the policy ----------------------------------------------------------------------------------------------


def validate_policy(spec: Obj) -> Causes:
    causes: Causes = []
    policy = spec.get("failurePolicy")
    if policy not in ("Fail", "Ignore"):
        causes.append(_unsupported("spec.failurePolicy", policy, ("Fail", "Ignore")))
    if spec.get("paramKind") is not None:
        causes += _param_kind(spec["paramKind"])
    match = spec.get("matchConstraints")
    if match is None:
        causes.append(_required("spec.matchConstraints"))
    else:
        causes += validate_match(match, "spec.matchConstraints")
        if not match.get("resourceRules"):
            causes.append(_required("spec.matchConstraints.resourceRules"))
    declared = _VARIABLES | ({"params"} if spec.get("paramKind") else set())
    causes += _match_conditions(spec.get("matchConditions") or [], frozenset(declared))
    for i, variable in enumerate(spec.get("variables") or []):
        causes += _variable(variable, f"spec.variables[{i}]", frozenset(declared))
    validations, annotations = spec.get("validations") or [], spec.get("auditAnnotations") or []
    if not validations and not annotations:
        detail = "validations or auditAnnotations must contain at least one item"
        return [*causes, _required("spec.validations", detail), _required("spec.auditAnnotations", detail)]
    for i, validation in enumerate(validations):
        causes += _validation(validation, f"spec.validations[{i}]", frozenset(declared))
    for i, annotation in enumerate(annotations):
        path = f"spec.auditAnnotations[{i}].valueExpression"
        if not str(annotation.get("valueExpression") or "").strip():
            causes.append(_required(path, "valueExpression is not specified"))
        else:
            causes += _compiled(path, str(annotation["valueExpression"]), frozenset(declared), "")
    return causes


def _param_kind(kind: Obj) -> Causes:
    causes: Causes = []
    if not kind.get("apiVersion"):
        causes.append(_required("spec.paramKind.apiVersion"))
    if not kind.get("kind"):
        causes.append(_required("spec.paramKind.kind"))
    return causes


def validate_match(match: Obj, path: str) -> Causes:
    causes: Causes = []
    for key in ("resourceRules", "excludeResourceRules"):
        for i, rule in enumerate(match.get(key) or []):
            causes += _rule(rule, f"{path}.{key}[{i}]")
    return causes


def _rule(rule: Obj, path: str) -> Causes:
    """validateRuleWithOperations: operations, then apiGroups, apiVersions, resources, scope."""
    causes: Causes = []
    operations = rule.get("operations") or []
    if not operations:
        causes.append(_required(f"{path}.operations"))
    if len(operations) > 1 and "*" in operations:
        causes.append(
            _invalid(f"{path}.operations", operations, "if '*' is present, must not specify other operations")
        )
    for i, operation in enumerate(operations):
        if operation not in _OPERATIONS:
            causes.append(_unsupported(f"{path}.operations[{i}]", operation, _OPERATIONS))
    for key, what in (("apiGroups", "API groups"), ("apiVersions", "API versions")):
        values = rule.get(key) or []
        if not values:
            causes.append(_required(f"{path}.{key}"))
        if len(values) > 1 and "*" in values:
            causes.append(
                _invalid(f"{path}.{key}", values, f"if '*' is present, must not specify other {what}")
            )
    if not rule.get("resources"):
        causes.append(_required(f"{path}.resources"))
    scope = rule.get("scope")
    if scope is not None and scope not in ("*", "Cluster", "Namespaced"):
        causes.append(_unsupported(f"{path}.scope", scope, ("*", "Cluster", "Namespaced")))
    return causes


def _match_conditions(conditions: list[Obj], declared: frozenset[str]) -> Causes:
    causes: Causes = []
    names: set[str] = set()
    for i, condition in enumerate(conditions):
        path = f"spec.matchConditions[{i}]"
        expression = str(condition.get("expression") or "").strip()
        if not expression:
            causes.append(_required(f"{path}.expression"))
        else:
            causes += _compiled(f"{path}.expression", expression, declared - {"namespaceObject"}, "bool")
        name = str(condition.get("name") or "")
        if not name:
            causes.append(_required(f"{path}.name"))
        elif name in names:
            causes.append(
                errors.Cause(f"{path}.name", f"Duplicate value: {json.dumps(name)}", "FieldValueDuplicate")
            )
        names.add(name)
    return causes


def _variable(variable: Obj, path: str, declared: frozenset[str]) -> Causes:
    causes: Causes = []
    name = str(variable.get("name") or "")
    if not name.strip():
        causes.append(_required(f"{path}.name", "name is not specified"))
    elif not _IDENT.match(name) or name in _RESERVED or name in _RESERVED2:
        causes.append(_invalid(f"{path}.name", name, "must be a valid CEL identifier"))
    expression = str(variable.get("expression") or "")
    if not expression.strip():
        causes.append(_required(f"{path}.expression", "expression is not specified"))
    else:
        causes += _compiled(f"{path}.expression", expression, declared, "")
    return causes


def _validation(validation: Obj, path: str, declared: frozenset[str]) -> Causes:
    causes: Causes = []
    expression = str(validation.get("expression") or "")
    if not expression.strip():
        causes.append(_required(f"{path}.expression", "expression is not specified"))
    else:
        causes += _compiled(f"{path}.expression", expression, declared, "bool")
    message_expression = str(validation.get("messageExpression") or "")
    if message_expression and not message_expression.strip():
        causes.append(
            _invalid(f"{path}.messageExpression", message_expression, "must be non-empty if specified")
        )
    elif message_expression.strip():
        causes += _compiled(
            f"{path}.messageExpression", message_expression, declared - {"authorizer"}, "string"
        )
    message = str(validation.get("message") or "")
    if message and not message.strip():
        causes.append(_invalid(f"{path}.message", message, "must be non-empty if specified"))
    elif "\n" in message.strip() or "\r" in message.strip():
        causes.append(_invalid(f"{path}.message", message, "must not contain line breaks"))
    reason = validation.get("reason")
    supported = ("Forbidden", "Invalid", "RequestEntityTooLarge")
    if reason is not None and reason not in supported:
        causes.append(_unsupported(f"{path}.reason", reason, supported))
    return causes


def _compiled(path: str, expression: str, declared: frozenset[str], returns: str) -> Causes:
    try:
        tree = policy_cel.compile_expression(expression, declared)
    except policy_cel.CelCompileError as err:
        return [_invalid(path, expression, err.detail)]
    got = policy_cel.literal_type(tree)
    if returns and got is not None and got != returns:
        return [_invalid(path, expression, f"must evaluate to {returns} but got {got}")]
    return []


# --- the binding ---------------------------------------------------------------------------------------------


def validate_binding(spec: Obj, actions: bool = True) -> Causes:
    """A binding's spec (``actions``: a ValidatingAdmissionPolicyBinding's validationActions too)."""
    causes: Causes = []
    if not spec.get("policyName"):
        causes.append(_required("spec.policyName"))
    ref = spec.get("paramRef")
    if ref is not None:
        causes += _param_ref(ref)
    if spec.get("matchResources") is not None:
        causes += validate_match(spec["matchResources"], "spec.matchResources")
    if actions:
        causes += _validation_actions(spec.get("validationActions") or [])
    return causes


def _param_ref(ref: Obj) -> Causes:
    causes: Causes = []
    exclusive = "Forbidden: name and selector are mutually exclusive"
    if ref.get("name") and ref.get("selector") is not None:
        causes.append(errors.Cause("spec.paramRef.name", exclusive, "FieldValueForbidden"))
        causes.append(errors.Cause("spec.paramRef.selector", exclusive, "FieldValueForbidden"))
    if not ref.get("name") and ref.get("selector") is None:
        causes.append(_required("spec.paramRef", "one of name or selector must be specified"))
    action = ref.get("parameterNotFoundAction")
    if not action:
        causes.append(_required("spec.paramRef.parameterNotFoundAction"))
    elif action not in ("Deny", "Allow"):
        causes.append(_unsupported("spec.paramRef.parameterNotFoundAction", action, ("Deny", "Allow")))
    return causes


def _validation_actions(actions: list[Any]) -> Causes:
    causes: Causes = []
    seen: set[Any] = set()
    for i, action in enumerate(actions):
        path = f"spec.validationActions[{i}]"
        if action not in ("Audit", "Deny", "Warn"):
            causes.append(_unsupported(path, action, ("Audit", "Deny", "Warn")))
        if action in seen:
            causes.append(errors.Cause(path, f"Duplicate value: {json.dumps(action)}", "FieldValueDuplicate"))
        seen.add(action)
    if {"Deny", "Warn"} <= seen:
        detail = (
            "must not contain both Deny and Warn (repeating the same validation failure information in the API "
            "response and headers serves no purpose)"
        )
        causes.append(_invalid("spec.validationActions", actions, detail))
    if not seen:
        causes.append(_required("spec.validationActions", "at least one validation action is required"))
    return causes
