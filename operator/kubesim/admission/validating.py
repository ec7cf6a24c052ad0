"""The ValidatingAdmissionPolicy plugin (apiserver's ``admission/plugin/policy/validating``): every binding whose
policy and match resources select a write evaluates the policy's CEL validations, once per parameter object; a
failed validation denies (Deny), warns (Warn: a ``Warning`` header) or is audited (Audit: an audit annotation), as
the binding says. The first denial answers the request, in the real server's words.

Policies and bindings are read from the store on each write, so a new one applies at once (the real server
refreshes its policies every second). Writes the server makes itself (the simulated controllers) are not
admitted by policies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kubesim.admission import evaluation
from kubesim.admission.matching import Attributes, resources_match
from kubesim.api import errors
from kubesim.api.selectors import matches_label_selector
from kubesim.storage.admission import Operation, Requester
from kubesim.storage.objects import Obj
from kubesim.storage.store import Store

GROUP = "admissionregistration.k8s.io"
POLICIES = (GROUP, "validatingadmissionpolicies")
BINDINGS = (GROUP, "validatingadmissionpolicybindings")
# The admission configuration itself is never subject to API-defined policies (no circular dependency).
EXEMPT = frozenset(
    {
        "validatingadmissionpolicies",
        "validatingadmissionpolicybindings",
        "mutatingadmissionpolicies",
        "mutatingadmissionpolicybindings",
    }
)


@dataclass
class Denial:
    policy: str
    binding: str | None
    message: str
    reason: str = "Invalid"


@dataclass
class Outcome:
    denials: list[Denial] = field(default_factory=list)


class PolicyAdmission:
    """The admission hook: ``store.admission.append(PolicyAdmission(store))``."""

    policies: tuple[str, str] = POLICIES
    bindings: tuple[str, str] = BINDINGS

    def __init__(self, store: Store) -> None:
        self.store = store
        self._bindings = store.require(*self.bindings)  # a built-in: always served

    def __call__(self, op: Operation) -> None:
        if not self.store.count(self._bindings):
            return  # no binding, no policy in force: the common case costs one count
        if op.requester is None or (op.rt.group == GROUP and op.rt.plural in EXEMPT):
            return
        bindings_rt = self._bindings
        a = Attributes.of(op, op.requester)
        outcome = Outcome()
        for policy, bindings in self._hooks(bindings_rt):
            self._dispatch(policy, bindings, a, outcome)
        if outcome.denials:
            raise _denied(outcome.denials[0], a)

    def _hooks(self, bindings_rt: Any) -> list[tuple[Obj, list[Obj]]]:
        """Each policy with the bindings that name it (bindings of a missing policy do nothing)."""
        policies_rt = self.store.require(*self.policies)
        by_policy: dict[str, list[Obj]] = {}
        for binding in self.store.iter(bindings_rt):
            by_policy.setdefault(str((binding.get("spec") or {}).get("policyName") or ""), []).append(binding)
        hooks = []
        for name, bindings in by_policy.items():
            policy = self.store.peek(policies_rt, None, name)
            if policy is not None:
                hooks.append((policy, bindings))
        return hooks

    def _namespace(self, name: str) -> Obj | None:
        return self.store.peek(self.store.require("", "namespaces"), None, name) if name else None

    def _namespace_labels(self, a: Attributes) -> dict[str, str] | None:
        if a.is_namespace and a.operation in ("CREATE", "UPDATE") and not a.subresource:
            return dict(((a.obj or {}).get("metadata") or {}).get("labels") or {})
        ns = self._namespace(a.name if a.is_namespace else a.namespace)
        return None if ns is None else dict((ns.get("metadata") or {}).get("labels") or {})

    def _dispatch(self, policy: Obj, bindings: list[Obj], a: Attributes, outcome: Outcome) -> None:
        spec = policy.get("spec") or {}
        labels = self._namespace_labels(a)
        if not resources_match(spec.get("matchConstraints") or {}, a, labels):
            return
        annotations: dict[str, list[str]] = {}
        for binding, bspec in self._matching(bindings, a, labels):
            try:
                params = self._params(spec, bspec, a)
            except PolicyConfigError as err:
                if spec.get("failurePolicy", "Fail") != "Ignore":
                    message = f"failed to configure binding: {err}"
                    outcome.denials.append(
                        Denial(policy["metadata"]["name"], binding["metadata"]["name"], message)
                    )
                continue
            namespace = None if a.is_namespace else self._namespace(a.namespace)
            for param in params:
                result = evaluation.validate(spec, a, param, namespace)
                _act(policy, binding, result, a.requester, outcome, annotations)
        for key, values in annotations.items():
            a.requester.annotations[f"{policy['metadata']['name']}/{key}"] = ", ".join(values)

    @staticmethod
    def _matching(
        bindings: list[Obj], a: Attributes, labels: dict[str, str] | None
    ) -> Iterator[tuple[Obj, Obj]]:
        """The bindings whose matchResources (if any) select the write, in name order, each with its spec."""
        for binding in sorted(bindings, key=lambda b: b["metadata"]["name"]):
            bspec = binding.get("spec") or {}
            match = bspec.get("matchResources")
            if match is None or resources_match(match, a, labels):
                yield binding, bspec

    def _params(self, spec: Obj, bspec: Obj, a: Attributes) -> list[Obj | None]:
        """generic.CollectParams: the parameter objects of a binding (``[None]`` without paramKind or paramRef)."""
        kind, ref = spec.get("paramKind"), bspec.get("paramRef")
        if not kind or not ref:
            return [None]
        rt = self._param_type(kind)
        if rt is None:
            raise PolicyConfigError(f"paramKind kind `{_gvk(kind)}` not known")
        namespace = ""
        if rt.namespaced:
            namespace = ref.get("namespace") or a.namespace
            if not namespace:
                raise PolicyConfigError(
                    "cannot use namespaced paramRef in policy binding that matches cluster-scoped resources"
                )
        elif ref.get("namespace"):
            raise PolicyConfigError(
                "paramRef.namespace must not be provided for a cluster-scoped `paramKind`"
            )
        if ref.get("name"):
            found = self.store.peek(rt, namespace or None, ref["name"])
            params: list[Obj | None] = [found] if found is not None else []
        else:
            selector = ref.get("selector") or {}
            params = [
                o
                for o in self.store.iter(rt, namespace or None)
                if matches_label_selector(selector, (o.get("metadata") or {}).get("labels") or {})
            ]
        if not params and ref.get("parameterNotFoundAction") == "Deny":
            raise PolicyConfigError("no params found for policy binding with `Deny` parameterNotFoundAction")
        return params

    def _param_type(self, kind: Obj) -> Any:
        group, _, version = str(kind.get("apiVersion") or "").rpartition("/")
        for rt in self.store.types():
            if (
                rt.group == group
                and rt.kind == kind.get("kind")
                and version in (rt.version, *rt.served_versions)
            ):
                return rt
        return None


class PolicyConfigError(Exception):
    """A binding that cannot be evaluated (its parameters); the policy's failurePolicy decides."""


def _gvk(kind: Obj) -> str:
    group, _, version = str(kind.get("apiVersion") or "").rpartition("/")
    return f"{group}/{version}, Kind={kind.get('kind')}"


def _act(
    policy: Obj,
    binding: Obj,
    result: evaluation.Result,
    requester: Requester,
    outcome: Outcome,
    annotations: dict[str, list[str]],
) -> None:
    """What each failed validation does under the binding's validationActions; audit annotations collected."""
    pname, bname = policy["metadata"]["name"], binding["metadata"]["name"]
    actions = (binding.get("spec") or {}).get("validationActions") or []
    for index, decision in enumerate(result.denials):
        if "Deny" in actions:
            outcome.denials.append(Denial(pname, bname, decision.message, decision.reason))
        if "Warn" in actions:
            requester.warnings.append(
                f"Validation failed for ValidatingAdmissionPolicy '{pname}' with binding '{bname}': "
                f"{decision.message}"
            )
        if "Audit" in actions:
            failure = {
                "message": decision.message,
                "policy": pname,
                "binding": bname,
                "expressionIndex": decision.index if decision.index >= 0 else index,
                "validationActions": actions,
            }
            key = "validation.policy.admission.k8s.io/validation_failure"
            requester.annotations[key] = json.dumps([failure], separators=(",", ":"))
    for error in result.annotation_errors:
        outcome.denials.append(Denial(pname, bname, error))
    for key, value in result.annotations:
        values = annotations.setdefault(key, [])
        if value not in values:
            values.append(value)


def _denied(denial: Denial, a: Attributes) -> errors.ApiError:
    """admission.NewForbidden with the decision's reason and code, the message also as the one cause."""
    if denial.binding is None:
        text = f"ValidatingAdmissionPolicy '{denial.policy}' denied request: {denial.message}"
    else:
        text = (
            f"ValidatingAdmissionPolicy '{denial.policy}' with binding '{denial.binding}' denied request: "
            f"{denial.message}"
        )
    name = a.name or str(((a.obj or {}).get("metadata") or {}).get("generateName") or "") or "Unknown"
    resource = errors.qualified(a.resource, a.group)
    code = {"Forbidden": 403, "Unauthorized": 401, "RequestEntityTooLarge": 413}.get(denial.reason, 422)
    return errors.ApiError(
        code,
        denial.reason,
        f'{resource} "{name}" is forbidden: {text}',
        name=name,
        group=a.group,
        kind=a.resource,
        causes=[_MessageCause("", text, "")],
    )


class _MessageCause(errors.Cause):
    """A cause with only a message, as the policy plugin appends it."""

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message}
