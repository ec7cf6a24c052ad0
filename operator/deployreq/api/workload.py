"""The workloads a request changes (``spec.workloads``, issue 18), and what the status records of each.

A request names either one Deployment (``spec.deployment`` + ``spec.images``, the original form) or a list of
workloads of three kinds; :meth:`deployreq.api.request.Request.targets` gives both forms as one list of
:class:`WorkloadSpec`, the legacy form as one Deployment.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from deployreq.api.base import DNS_SUBDOMAIN, ImageUpdate, Model

MAX_WORKLOADS = 10


class WorkloadKind(StrEnum):
    DEPLOYMENT = "Deployment"
    STATEFULSET = "StatefulSet"
    DAEMONSET = "DaemonSet"


class WorkloadSpec(Model):
    """One workload of the request's namespace and the images to set on it."""

    kind: WorkloadKind = Field(
        WorkloadKind.DEPLOYMENT, description="Deployment, StatefulSet or DaemonSet (default Deployment)."
    )
    name: str = Field(
        min_length=1,
        max_length=253,
        pattern=DNS_SUBDOMAIN,
        description="Name of the workload in the request's own namespace.",
    )
    images: list[ImageUpdate] = Field(
        min_length=1,
        max_length=32,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["container"]},
        description="The containers' new images.",
    )

    @model_validator(mode="after")
    def _unique_containers(self) -> WorkloadSpec:
        containers = [i.container for i in self.images]
        if len(containers) != len(set(containers)):
            raise ValueError("each container may appear once in images")
        return self

    @property
    def ref(self) -> str:
        """``kind/name`` as kubectl names it (``statefulset/worker``)."""
        return f"{self.kind.value.lower()}/{self.name}"

    @property
    def image_map(self) -> dict[str, str]:
        return {i.container: i.image for i in self.images}


def target_label(targets: list[WorkloadSpec]) -> str:
    """What a request changes, at a glance: ``deployment/api,statefulset/worker``."""
    return ",".join(t.ref for t in targets)


class WorkloadRollback(Model):
    target_revision: int | None = None
    """The revision the undo restores (as kubectl rollout undo picks it)."""
    patched_generation: int | None = None
    """The workload's generation after the undo."""
    patched_at: str | None = None
    """When the undo was written."""
    available_at: str | None = None
    """When the undone workload was available again."""


class WorkloadStatus(Model):
    """What this run did to one workload of spec.workloads."""

    kind: WorkloadKind
    """Deployment, StatefulSet or DaemonSet."""
    name: str
    """The workload's name."""
    uid: str | None = None
    """The uid of the workload patched, so a recreated one is not mistaken for it."""
    previous_images: list[ImageUpdate] | None = None
    """The images before this run (what the undo restores)."""
    previous_revision: int | None = None
    """The workload's revision before this run."""
    unchanged: bool | None = None
    """True when the images were already in place: nothing was patched, nothing is undone."""
    patched_generation: int | None = None
    """The workload's generation after the image patch."""
    patched_at: str | None = None
    """When the image patch was written."""
    rolled_out_at: str | None = None
    """When the rollout was judged complete (as kubectl rollout status)."""
    revision: int | None = None
    """The workload's revision once this run's rollout, or its undo, was available (as kubectl rollout history
    numbers it)."""
    rollback: WorkloadRollback | None = None
    """The undo of this workload, when the run rolls back."""
    left_alone: str | None = None
    """Why the rollback left this workload as it is (changed by someone else, deleted, its undo failed)."""


def _validate_form(deployment: str | None, images: object, workloads: object) -> None:
    if workloads is not None and (deployment is not None or images is not None):
        raise ValueError("give either spec.workloads or spec.deployment with spec.images, not both")
    if workloads is None and (deployment is None or images is None):
        raise ValueError("give spec.workloads, or spec.deployment with spec.images")


def validate_form(deployment: str | None, images: object, workloads: list[WorkloadSpec] | None) -> None:
    """Exactly one of the two forms, and each workload (kind, name) once; ValueError says what to fix."""
    _validate_form(deployment, images, workloads)
    keys = [(w.kind, w.name) for w in workloads or []]
    if len(keys) != len(set(keys)):
        raise ValueError("each workload (kind and name) may appear once in spec.workloads")


FORM_RULES: Any = [
    {
        "rule": "has(self.deployment) == has(self.images)",
        "message": "spec.deployment and spec.images go together (or use spec.workloads)",
    },
    {
        "rule": "has(self.deployment) != has(self.workloads)",
        "message": "give exactly one of spec.workloads or spec.deployment with spec.images",
    },
]
"""The form's rules as the CRD's CEL rules (the API server refuses both forms or neither at admission)."""
