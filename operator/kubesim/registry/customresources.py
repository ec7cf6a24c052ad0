"""The custom resource strategy (``apiextensions-apiserver/pkg/registry/customresource/strategy.go``)."""

from __future__ import annotations

from kubesim.api import crd_validation, errors, schema, strict_fields
from kubesim.storage.admission import Operation
from kubesim.storage.objects import Obj
from kubesim.storage.strategy import Strategy


class CustomResourceStrategy(Strategy):
    # The status strategy keeps nothing of the request's metadata but the managers' record.
    status_keeps_annotations = False

    def prepare_for_create(self, obj: Obj) -> None:
        """With a status subresource, a create's status is dropped."""
        super().prepare_for_create(obj)
        if "status" in self.rt.subresources:
            obj.pop("status", None)


def admit_custom(op: Operation) -> None:
    """The admission hook for custom resources and CRDs (and ``fieldValidation=Strict`` for built-ins)."""
    if op.verb == "delete":
        return
    if op.rt.key == ("apiextensions.k8s.io", "customresourcedefinitions") and op.subresource is None:
        crd_validation.validate_crd(op.obj)
    elif op.rt.crd is not None:
        try:
            schema.admit_custom_resource(op.rt.crd, op.obj, op.old, op.subresource, strict=op.strict)
        except errors.ApiError as err:
            if err.code == 400 and err.message.startswith("strict decoding error"):
                kind, version = op.rt.kind, op.rt.version
                err.message = f'{kind} in version "{version}" cannot be handled as a {kind}: {err.message}'
            raise
    elif op.strict:
        strict_fields.reject_unknown(op.rt.key, op.rt.kind, op.rt.version, op.obj)
