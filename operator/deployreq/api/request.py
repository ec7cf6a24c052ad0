"""A read-only view of a DeploymentRequest body as the API returns it, with the accessors the operator needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deployreq.api.names import FINALIZER, RERUN_ANNOTATION
from deployreq.api.phases import ACTIVE, TERMINAL, WAITING, Phase

Obj = dict[str, Any]


def resource_version(body: Obj | None) -> int:
    """The resourceVersion as a number, for telling which of two copies of one object is newer (0 if unknown)."""
    if not body:
        return 0
    value = str(body.get("metadata", {}).get("resourceVersion") or "0")
    return int(value) if value.isdigit() else 0


@dataclass(frozen=True)
class Request:
    body: Obj

    @property
    def meta(self) -> Obj:
        return self.body.get("metadata") or {}

    @property
    def namespace(self) -> str:
        return str(self.meta.get("namespace", ""))

    @property
    def name(self) -> str:
        return str(self.meta.get("name", ""))

    @property
    def uid(self) -> str:
        return str(self.meta.get("uid", ""))

    @property
    def generation(self) -> int:
        return int(self.meta.get("generation") or 1)

    @property
    def created(self) -> str:
        return str(self.meta.get("creationTimestamp", ""))

    @property
    def rerun(self) -> str:
        return str((self.meta.get("annotations") or {}).get(RERUN_ANNOTATION, ""))

    @property
    def deleting(self) -> bool:
        return bool(self.meta.get("deletionTimestamp"))

    @property
    def has_finalizer(self) -> bool:
        return FINALIZER in (self.meta.get("finalizers") or [])

    @property
    def spec(self) -> Obj:
        return self.body.get("spec") or {}

    @property
    def status(self) -> Obj:
        return self.body.get("status") or {}

    @property
    def phase(self) -> Phase:
        try:
            return Phase(self.status.get("phase") or Phase.PENDING)
        except ValueError:
            return Phase.PENDING

    @property
    def terminal(self) -> bool:
        return self.phase in TERMINAL

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE

    @property
    def waiting(self) -> bool:
        return self.phase in WAITING

    @property
    def deployment(self) -> str:
        return str(self.spec.get("deployment", ""))

    @property
    def priority(self) -> str:
        return str(self.spec.get("priority") or "normal")

    @property
    def spec_images(self) -> dict[str, str]:
        return {str(i.get("container")): str(i.get("image")) for i in self.spec.get("images") or []}

    @property
    def run_images(self) -> dict[str, str]:
        """The images of the current run: the snapshot taken at its start (spec may have changed since)."""
        images = self.status.get("images")
        if images:
            return {str(i.get("container")): str(i.get("image")) for i in images}
        return self.spec_images

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"
