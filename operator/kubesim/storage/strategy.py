"""What the generic store asks about a resource, as kube-apiserver's generic registry asks its strategy
(``rest.RESTCreateStrategy``, ``RESTUpdateStrategy``, ``RESTDeleteStrategy`` and the status strategies).

:class:`Strategy` is the default every resource gets, driven only by its :class:`ResourceType` (generation, the
status subresource, unconditional updates). Resources that differ subclass it in ``kubesim.registry``; the store
never asks which resource it holds.
"""

from __future__ import annotations

from collections.abc import Callable

from kubesim.api import errors
from kubesim.api.resources import ResourceType
from kubesim.storage.objects import Obj, clone, without


class Strategy:
    """The generic registry's defaults for one resource type."""

    # DELETE of an object that no finalizer holds still only marks it (deletionTimestamp) when True.
    always_marks_on_delete = False
    # The propagation of a DELETE that names none (DefaultGarbageCollectionPolicy; None: background).
    default_propagation: str | None = None
    # A write to /status also carries the request's metadata.annotations (built-ins' status strategies reset spec
    # and labels only: the Deployment controller sets the revision annotation through /status).
    status_keeps_annotations = True

    def __init__(self, rt: ResourceType) -> None:
        self.rt = rt

    # --- create ------------------------------------------------------------------------------------------

    def prepare_for_create(self, obj: Obj) -> None:
        """What the server sets on a new object before admission (metadata.generation, the status reset)."""
        meta = obj["metadata"]
        if self.rt.has_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)

    # --- update ------------------------------------------------------------------------------------------

    def allow_unconditional_update(self) -> bool:
        """Whether a PUT without metadata.resourceVersion is accepted."""
        return self.rt.unconditional_update

    def prepare_for_update(self, new: Obj, old: Obj, subresource: str | None) -> None:
        """A write to the main endpoint (or a subresource other than status) keeps the stored status when the
        type has a status subresource. Stored objects are never mutated, so the new version shares it."""
        if "status" in self.rt.subresources and subresource is None:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)

    def prepare_for_status_update(self, incoming: Obj, old: Obj) -> Obj:
        """What a /status write may change: the status (and the managers' record, and for built-ins the
        annotations); everything else is the stored object's."""
        status = incoming.get("status")
        incoming_meta = incoming["metadata"]
        # Stored objects are never mutated in place, so the new version shares the old one's unchanged parts
        # (spec above all); only metadata, which this write changes, is copied. The old status is replaced.
        new = {k: v for k, v in old.items() if k != "status"}
        new["metadata"] = clone(old["metadata"])
        if status is None:
            new.pop("status", None)
        else:
            new["status"] = status
        new_meta = new["metadata"]
        if "managedFields" in incoming_meta:
            new_meta["managedFields"] = incoming_meta["managedFields"]
        if self.status_keeps_annotations and "annotations" in incoming_meta:
            new_meta["annotations"] = incoming_meta["annotations"]
        return new

    def validate_update(self, new: Obj, old: Obj) -> None:
        """ValidateObjectMetaUpdate's rule kubesim keeps: no finalizer may be added once deletion started."""
        old_meta = old["metadata"]
        if not old_meta.get("deletionTimestamp"):
            return
        old_finalizers = old_meta.get("finalizers") or []
        added = [f for f in new["metadata"].get("finalizers") or [] if f not in old_finalizers]
        if added:
            quoted = ", ".join(f'"{f}"' for f in added)
            raise errors.invalid(
                self.rt.kind,
                self.rt.group,
                new["metadata"]["name"],
                [
                    errors.Cause(
                        "metadata.finalizers",
                        f"Forbidden: no new finalizers can be added if the object is being deleted, "
                        f"found new finalizers []string{{{quoted}}}",
                        "FieldValueForbidden",
                    )
                ],
            )

    def generation_changed(self, old: Obj, new: Obj) -> bool:
        """Whether a main-endpoint write bumps metadata.generation: anything but metadata (and status, when it
        has its own subresource) changed."""
        ignored = ("metadata", "status") if "status" in self.rt.subresources else ("metadata",)
        return without(old, *ignored) != without(new, *ignored)

    def held_after_update(self, new: Obj) -> bool:
        """Whether a deleting object without finalizers is still kept (ShouldDeleteDuringUpdate)."""
        return False

    # --- delete ------------------------------------------------------------------------------------------

    def before_mark_deleted(self, new: Obj) -> None:
        """What marking the object for deletion changes besides deletionTimestamp and the finalizers."""


StrategyFor = Callable[[ResourceType], Strategy]


def keep_system_fields(rt: ResourceType, ns: str, name: str, new: Obj, old_meta: Obj) -> None:
    """What a write cannot change (rest.BeforeUpdate): uid, creation and deletion, generation, name,
    namespace, apiVersion and kind."""
    meta = new["metadata"]
    for key in (
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
    ):
        if key in old_meta:
            meta[key] = old_meta[key]
        else:
            meta.pop(key, None)
    meta["name"] = name
    if rt.namespaced:
        meta["namespace"] = ns
    else:
        meta.pop("namespace", None)
    new["apiVersion"] = rt.api_version
    new["kind"] = rt.kind
