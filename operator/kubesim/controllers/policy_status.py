"""The ValidatingAdmissionPolicy status controller (kube-controller-manager's ``validatingadmissionpolicy-status``):
after each change of a policy's spec it applies ``status.observedGeneration`` and ``status.typeChecking`` to
``/status`` as field manager ``validatingadmissionpolicy-status``. kubesim does not type-check expressions against
the matched resources' schemas, so ``typeChecking`` carries no ``expressionWarnings``."""

from __future__ import annotations

from typing import Any

from kubesim.api import empty_objects, managed_fields
from kubesim.api.resources import ResourceType
from kubesim.controllers.base import Controller, Key, key_of
from kubesim.storage.objects import clone, now_rfc3339
from kubesim.storage.store import Store
from kubesim.storage.watch import Event

Obj = dict[str, Any]
MANAGER = "validatingadmissionpolicy-status"


class PolicyStatusController(Controller):
    name = "validatingadmissionpolicy-status"

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.policies = store.require("admissionregistration.k8s.io", "validatingadmissionpolicies")

    def on_event(self, rt: ResourceType, event: Event) -> None:
        if rt.key == self.policies.key and event.type != "DELETED" and _stale(event.object):
            self.enqueue(key_of(event.object))

    def sync(self, key: Key) -> None:
        policy = self.store.peek(self.policies, None, key[1])
        if policy is None or not _stale(policy):
            return
        status = {"observedGeneration": policy["metadata"].get("generation", 1), "typeChecking": {}}
        applied = {"apiVersion": self.policies.api_version, "kind": self.policies.kind, "status": status}
        updated = clone(policy)
        updated["status"] = status
        updated["metadata"]["managedFields"] = managed_fields.record(
            policy["metadata"].get("managedFields"),
            policy,
            updated,
            MANAGER,
            "Apply",
            self.policies.api_version,
            "status",
            now_rfc3339(self.store.clock),
            applied=applied,
            force=True,
            present=empty_objects.zero_object_paths(self.policies.key, False),
        )
        self.store.update(self.policies, None, key[1], updated, subresource="status")


def _stale(policy: Obj) -> bool:
    return bool(
        (policy.get("status") or {}).get("observedGeneration") != policy["metadata"].get("generation")
    )
