"""The Namespace strategy (``pkg/registry/core/namespace``): deletion always goes through ``Terminating``, and a
namespace is kept while its ``spec.finalizers`` (emptied by ``/finalize``) hold it."""

from __future__ import annotations

from kubesim.storage.objects import Obj
from kubesim.storage.strategy import Strategy


class NamespaceStrategy(Strategy):
    always_marks_on_delete = True

    def before_mark_deleted(self, new: Obj) -> None:
        new.setdefault("status", {})["phase"] = "Terminating"

    def held_after_update(self, new: Obj) -> bool:
        """ShouldDeleteNamespaceDuringUpdate: a namespace also waits for its spec.finalizers."""
        return bool((new.get("spec") or {}).get("finalizers"))
