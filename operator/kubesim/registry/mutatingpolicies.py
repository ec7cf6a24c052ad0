"""MutatingAdmissionPolicy and MutatingAdmissionPolicyBinding validation (``pkg/apis/admissionregistration/validation``)
with the real messages; the defaults and the shared parts (match resources, match conditions, variables, the
binding) are the validating kinds' (:mod:`kubesim.registry.admissionpolicies`)."""

from __future__ import annotations

from typing import Any

from kubesim.api import errors
from kubesim.registry import admissionpolicies as base

Obj = dict[str, Any]
PATCH_TYPES = ("ApplyConfiguration", "JSONPatch")
FIELDS = {"ApplyConfiguration": "applyConfiguration", "JSONPatch": "jsonPatch"}


def validate_policy(spec: Obj) -> base.Causes:
    causes: base.Causes = []
    if spec.get("paramKind") is not None:
        causes += base._param_kind(spec["paramKind"])
    policy = spec.get("failurePolicy")
    if policy not in ("Fail", "Ignore"):
        causes.append(base._unsupported("spec.failurePolicy", policy, ("Fail", "Ignore")))
    match = spec.get("matchConstraints")
    if match is None:
        causes.append(base._required("spec.matchConstraints"))
    else:
        causes += base.validate_match(match, "spec.matchConstraints")
        if not match.get("resourceRules"):
            causes.append(base._required("spec.matchConstraints.resourceRules"))
    declared = frozenset(base._VARIABLES | ({"params"} if spec.get("paramKind") else set()))
    causes += base._match_conditions(spec.get("matchConditions") or [], declared)
    for i, variable in enumerate(spec.get("variables") or []):
        causes += base._variable(variable, f"spec.variables[{i}]", declared)
    mutations = spec.get("mutations") or []
    if not mutations:
        causes.append(base._required("spec.mutations", "mutations must contain at least one item"))
    for i, mutation in enumerate(mutations):
        causes += _mutation(mutation, f"spec.mutations[{i}]", declared)
    reinvocation = spec.get("reinvocationPolicy")
    if not reinvocation:
        causes.append(base._required("spec.reinvocationPolicy"))
    elif reinvocation not in ("IfNeeded", "Never"):
        causes.append(base._unsupported("spec.reinvocationPolicy", reinvocation, ("IfNeeded", "Never")))
    return causes


def _mutation(mutation: Obj, path: str, declared: frozenset[str]) -> base.Causes:
    """validateMutation: the patch type, the one field it names (and not the other), its expression."""
    kind = mutation.get("patchType")
    if kind not in PATCH_TYPES:
        if not kind:
            return [base._required(f"{path}.patchType")]
        return [base._unsupported(f"{path}.patchType", kind, PATCH_TYPES)]
    causes: base.Causes = []
    wanted, other = (
        FIELDS[kind],
        FIELDS["JSONPatch" if kind == "ApplyConfiguration" else "ApplyConfiguration"],
    )
    body = mutation.get(wanted)
    if body is None:
        causes.append(base._required(f"{path}.{wanted}", f"must be specified when patchType is {kind}"))
    if mutation.get(other) is not None:
        causes.append(
            errors.Cause(
                f"{path}.{other}",
                f'Invalid value: "{{{other}}}": must not be specified when patchType is {kind}',
                "FieldValueInvalid",
            )
        )
    if body is not None:
        expression = str(body.get("expression") or "")
        if not expression.strip():
            causes.append(base._required(f"{path}.{wanted}.expression"))
        else:
            names = declared | {"JSONPatch", "jsonpatch"} if kind == "JSONPatch" else declared | {"Object"}
            causes += base._compiled(f"{path}.{wanted}.expression", expression, frozenset(names), "")
    return causes


def validate_binding(spec: Obj) -> base.Causes:
    return base.validate_binding(spec, actions=False)
