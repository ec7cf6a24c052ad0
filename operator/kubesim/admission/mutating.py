"""The MutatingAdmissionPolicy plugin (apiserver's ``admission/plugin/policy/mutating``): every binding whose policy
and match resources select a create or update evaluates the policy's match conditions, then each mutation in order
on the object as the previous ones left it; a JSONPatch mutation's CEL expression returns a list of
``JSONPatch{op, path, value, from}`` applied as RFC 6902 patches. Policies run in name order, each policy's bindings
in name order, before the server fills in an object's system fields and before validation and the validating
policies (the real admission chain's order). What a policy changes is not recorded in ``metadata.managedFields``
(the field manager records the request before admission, as the real server does).

Not implemented (docs/kubesim.md): ApplyConfiguration mutations (an error under the policy's failurePolicy),
reinvocation (``reinvocationPolicy: IfNeeded`` runs once, as ``Never``), cel-go's type checking of the expressions.
"""

from __future__ import annotations

import json
from typing import Any

import jsonpatch
import jsonpointer
from celpy import celtypes
from celpy.adapter import CELJSONEncoder
from celpy.evaluation import CELEvalError

from kubesim.admission import evaluation
from kubesim.admission.matching import Attributes, resources_match
from kubesim.admission.validating import EXEMPT, GROUP, PolicyAdmission, PolicyConfigError, _MessageCause
from kubesim.api import errors, policy_cel
from kubesim.api.policy_cel import CelEvalError
from kubesim.storage.admission import Operation
from kubesim.storage.objects import Obj, clone

POLICIES = (GROUP, "mutatingadmissionpolicies")
BINDINGS = (GROUP, "mutatingadmissionpolicybindings")


class JSONPatch(celtypes.MessageType):
    """The CEL type ``JSONPatch`` a jsonPatch expression builds its operations with."""


class _Library(celtypes.MapType):
    """``jsonpatch``, the receiver of ``jsonpatch.escapeKey(key)``."""


def _escape_key(_library: Any, key: Any) -> Any:
    return celtypes.StringType(str(key).replace("~", "~0").replace("/", "~1"))


policy_cel.FUNCTIONS["escapeKey"] = _escape_key


class MutationError(Exception):
    """A mutation that cannot be evaluated or applied; the policy's failurePolicy decides."""


class MutatingPolicyAdmission(PolicyAdmission):
    """The hook: ``store.mutating.append(MutatingPolicyAdmission(store))``."""

    policies = POLICIES
    bindings = BINDINGS

    def __call__(self, op: Operation) -> None:
        if not self.store.count(self._bindings):
            return
        if op.requester is None or op.verb == "delete" or (op.rt.group == GROUP and op.rt.plural in EXEMPT):
            return
        for policy, bindings in sorted(self._hooks(self._bindings), key=lambda h: h[0]["metadata"]["name"]):
            self._mutate(policy, bindings, op)

    def _mutate(self, policy: Obj, bindings: list[Obj], op: Operation) -> None:
        assert op.requester is not None
        spec = policy.get("spec") or {}
        a = Attributes.of(op, op.requester)
        labels = self._namespace_labels(a)
        if not resources_match(spec.get("matchConstraints") or {}, a, labels):
            return
        fail = spec.get("failurePolicy", "Fail") != "Ignore"
        for binding, bspec in self._matching(bindings, a, labels):
            try:
                params = self._params(spec, bspec, a)
            except PolicyConfigError as err:
                if fail:
                    raise _denied(policy, binding, f"failed to configure binding: {err}", a) from None
                continue
            namespace = None if a.is_namespace else self._namespace(a.namespace)
            for param in params:
                try:
                    mutated = mutate(spec, Attributes.of(op, op.requester), param, namespace)
                except MutationError as err:
                    if fail:
                        raise _denied(policy, binding, str(err), a) from None
                    continue
                if mutated is not None:
                    _replace(op.obj, mutated)


def mutate(spec: Obj, a: Attributes, param: Obj | None, namespace: Obj | None) -> Obj | None:
    """The object after the policy's mutations (None when its match conditions do not select the write)."""
    values = evaluation.activation(spec, a, param, namespace)
    values.update(JSONPatch=JSONPatch, jsonpatch=_Library({}))
    fail = spec.get("failurePolicy", "Fail") != "Ignore"
    matched = evaluation.matches(spec, values, fail)
    if isinstance(matched, evaluation.Decision):
        raise MutationError(matched.message)
    if not matched:
        return None
    obj = clone(a.obj or {})
    for mutation in spec.get("mutations") or []:
        if mutation.get("patchType") != "JSONPatch":
            raise MutationError(f"kubesim does not implement patchType {mutation.get('patchType')}")
        expression = str((mutation.get("jsonPatch") or {}).get("expression") or "")
        try:
            result = evaluation.eval_expression(expression, values)
        except CelEvalError as err:
            raise MutationError(str(err)) from None
        obj = apply_patches(obj, result, expression)
        values["object"] = policy_cel.to_cel(obj)
    return obj  # type: ignore[no-any-return]


def apply_patches(obj: Obj, result: Any, expression: str) -> Obj:
    """The JSONPatch values of an expression's result applied to a copy of ``obj``, in Go json-patch's words."""
    if not isinstance(result, celtypes.ListType):
        raise MutationError(f"type mismatch: expected list(JSONPatch), got {type(result).__name__}")
    for item in result:
        for value in item.values() if isinstance(item, celtypes.MapType) else [item]:
            if isinstance(value, CELEvalError):
                message = policy_cel.go_error(value)
                raise MutationError(f"expression '{expression}' resulted in error: {message}")
    operations = json.loads(json.dumps(list(result), cls=CELJSONEncoder))
    for operation in operations:
        try:
            obj = jsonpatch.apply_patch(obj, [operation])
        except jsonpatch.JsonPatchTestFailed:
            raise MutationError(
                f"JSON Patch: testing value {operation.get('path')} failed: test failed"
            ) from None
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException):
            raise MutationError(f"JSON Patch: {_patch_error(obj, operation)}") from None
    return obj


def _patch_error(obj: Obj, operation: Obj) -> str:
    """evanphx/json-patch's error for an operation whose path is missing."""
    op, path = operation.get("op"), str(operation.get("path"))
    parent_path, _, key = path.rpartition("/")
    try:
        parent = jsonpointer.resolve_pointer(obj, parent_path)
    except jsonpointer.JsonPointerException:
        parent = None
    if op == "remove" and isinstance(parent, dict):
        key = key.replace("~1", "/").replace("~0", "~")
        return f"error in remove for path: '{path}': Unable to remove nonexistent key: {key}: missing value"
    if op == "replace":
        return f"replace operation does not apply: doc is missing path: {path}: missing value"
    return f'{op} operation does not apply: doc is missing path: "{path}": missing value'


def _replace(target: Obj, new: Obj) -> None:
    """``target`` becomes ``new`` in place, keeping its metadata dict (the store holds on to it)."""
    meta = target.get("metadata")
    target.clear()
    target.update(new)
    if isinstance(meta, dict) and isinstance(new.get("metadata"), dict):
        meta.clear()
        meta.update(new["metadata"])
        target["metadata"] = meta


def _denied(policy: Obj, binding: Obj, message: str, a: Attributes) -> errors.ApiError:
    """403 Invalid, the message also as the one cause (as v1.36 answers a mutation that fails)."""
    text = (
        f"policy '{policy['metadata']['name']}' with binding '{binding['metadata']['name']}' denied request: "
    )
    name = a.name or str(((a.obj or {}).get("metadata") or {}).get("generateName") or "")
    return errors.ApiError(
        403,
        "Invalid",
        text + message,
        name=name,
        group=a.group,
        kind=a.resource,
        causes=[_MessageCause("", text + message, "")],
    )
