"""The built-in printers of the admission policy kinds (``printValidatingAdmissionPolicy``,
``printValidatingAdmissionPolicyBinding`` and their mutating twins), as v1.36 declares them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubesim.api.durations import age

Obj = dict[str, Any]
Cell = Any
Printer = tuple[list[Obj], Callable[[Obj], list[Cell]]]
GROUP = "admissionregistration.k8s.io"


def _column(name: str, type_: str, description: str, fmt: str = "") -> Obj:
    return {"name": name, "type": type_, "format": fmt, "description": description, "priority": 0}


def _name() -> Obj:
    return _column("Name", "string", "Name must be unique within a namespace.", "name")


def _age() -> Obj:
    return _column("Age", "string", "CreationTimestamp")


def _created(o: Obj) -> str:
    return age(o.get("metadata", {}).get("creationTimestamp"))


def _policies(counted: str = "validations") -> Printer:
    """A ValidatingAdmissionPolicy's (``counted``: validations) or a MutatingAdmissionPolicy's (mutations)."""
    if counted == "validations":
        count = _column(
            "Validations",
            "integer",
            "Validations indicates the number of validation rules defined in this configuration",
        )
    else:
        count = _column(
            "Mutations",
            "integer",
            "Mutation indicates the number of mutations rules defined in this configuration",
        )
    param_kind = "ParamKind specifies the kind of resources used to parameterize this policy"
    columns = [_name(), count, _column("ParamKind", "string", param_kind)]

    def cells(o: Obj) -> list[Cell]:
        spec = o.get("spec") or {}
        kind = spec.get("paramKind")
        shown = f"{kind.get('apiVersion', '')}/{kind.get('kind', '')}" if kind else "<unset>"
        return [o["metadata"]["name"], len(spec.get(counted) or []), shown, _created(o)]

    return [*columns, _age()], cells


def _bindings() -> Printer:
    policy = "PolicyName indicates the policy definition which the policy binding binded to"
    param_ref = "ParamRef indicates the param resource which sets the configuration param"
    columns = [_name(), _column("PolicyName", "string", policy), _column("ParamRef", "string", param_ref)]

    def cells(o: Obj) -> list[Cell]:
        spec = o.get("spec") or {}
        return [
            o["metadata"]["name"],
            spec.get("policyName", ""),
            _param_ref(spec.get("paramRef")),
            _created(o),
        ]

    return [*columns, _age()], cells


def _param_ref(ref: Obj | None) -> str:
    """``namespace/name``, ``*/name``, or the selector as Go's generated ``LabelSelector.String`` prints it."""
    if not ref:
        return "<unset>"
    if ref.get("name"):
        return f"{ref.get('namespace') or '*'}/{ref['name']}"
    selector = ref.get("selector")
    if selector is None:
        return "<unset>"
    labels = "".join(f"{k}: {v}," for k, v in sorted((selector.get("matchLabels") or {}).items()))
    expressions = "".join(
        f"LabelSelectorRequirement{{Key:{e.get('key', '')},Operator:{e.get('operator', '')},"
        f"Values:[{' '.join(e.get('values') or [])}],}},"
        for e in selector.get("matchExpressions") or []
    )
    return (
        f"&LabelSelector{{MatchLabels:map[string]string{{{labels}}},"
        f"MatchExpressions:[]LabelSelectorRequirement{{{expressions}}},}}"
    )


PRINTERS: dict[tuple[str, str], Callable[[], Printer]] = {
    (GROUP, "validatingadmissionpolicies"): _policies,
    (GROUP, "validatingadmissionpolicybindings"): _bindings,
    (GROUP, "mutatingadmissionpolicies"): lambda: _policies("mutations"),
    (GROUP, "mutatingadmissionpolicybindings"): _bindings,
}
