"""The Deployment strategy (``pkg/registry/apps/deployment/strategy.go``)."""

from __future__ import annotations

from kubesim.storage.objects import Obj
from kubesim.storage.strategy import Strategy


class DeploymentStrategy(Strategy):
    def generation_changed(self, old: Obj, new: Obj) -> bool:
        """PrepareForUpdate bumps the generation on a spec change and on an annotation change too."""
        return bool(
            old.get("spec") != new.get("spec")
            or old["metadata"].get("annotations") != new["metadata"].get("annotations")
        )
