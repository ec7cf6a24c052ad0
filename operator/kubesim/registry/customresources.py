"""The custom resource strategy (``apiextensions-apiserver/pkg/registry/customresource/strategy.go``)."""

from __future__ import annotations

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
