"""The DeploymentRequest API: the one source of the CRD schema (``make crds``), its defaults and its validation.

Fields are snake_case in Python and camelCase in YAML. Kubernetes-only schema facts (list types, CEL rules,
preserve-unknown-fields) ride along as ``json_schema_extra`` and are kept by :mod:`deployreq.api.crdgen`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field, model_validator

from deployreq.api.base import DNS_LABEL, DNS_SUBDOMAIN, IMAGE_REFERENCE, ImageUpdate, Model
from deployreq.api.gate_spec import (
    MAX_BODY_BYTES,
    EmptyResult,
    Gate,
    Gates,
    Header,
    HeaderValueFrom,
    HttpGate,
    HttpMethod,
    PodsGate,
    PrometheusGate,
    Scheme,
    SecretKeyRef,
    ServiceRef,
)
from deployreq.api.names import API_VERSION, KIND
from deployreq.api.status_model import (
    HISTORY_LIMIT,
    AvailabilityStatus,
    Condition,
    DeploymentRequestStatus,
    GatePhase,
    GateStage,
    GateStatus,
    HistoryEntry,
    RollbackStatus,
)
from deployreq.api.workload import (
    FORM_RULES,
    MAX_WORKLOADS,
    WorkloadKind,
    WorkloadRollback,
    WorkloadSpec,
    WorkloadStatus,
    validate_form,
)

__all__ = [
    "DNS_LABEL",
    "DNS_SUBDOMAIN",
    "HISTORY_LIMIT",
    "IMAGE_REFERENCE",
    "MAX_BODY_BYTES",
    "PRINTER_COLUMNS",
    "AvailabilityStatus",
    "Condition",
    "DeploymentRequest",
    "DeploymentRequestSpec",
    "DeploymentRequestStatus",
    "EmptyResult",
    "Gate",
    "GatePhase",
    "GateStage",
    "GateStatus",
    "Gates",
    "Header",
    "HeaderValueFrom",
    "HistoryEntry",
    "HttpGate",
    "HttpMethod",
    "ImageUpdate",
    "Model",
    "PodsGate",
    "Priority",
    "PrometheusGate",
    "RetrySpec",
    "RollbackSpec",
    "RollbackStatus",
    "RolloutSpec",
    "Scheme",
    "SecretKeyRef",
    "ServiceRef",
    "VerificationSpec",
    "WorkloadKind",
    "WorkloadRollback",
    "WorkloadSpec",
    "WorkloadStatus",
]


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class RolloutSpec(Model):
    timeout_seconds: int = Field(
        600, ge=10, le=86400, description="Fail the rollout when not complete by then."
    )


class RollbackSpec(Model):
    enabled: bool = Field(
        True, description="Undo the change (as kubectl rollout undo) when the rollout fails."
    )


class RetrySpec(Model):
    attempts: int = Field(
        3, ge=0, le=20, description="Retries of transient failures before anything changed."
    )
    backoff_seconds: int = Field(
        10, ge=1, le=3600, description="First backoff between retries; doubles each time."
    )


class VerificationSpec(Model):
    duration_seconds: int = Field(
        0, ge=0, le=86400, description="How long the rollout must stay healthy after it completes."
    )


class DeploymentRequestSpec(Model):
    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": FORM_RULES})

    deployment: str | None = Field(
        None,
        min_length=1,
        max_length=253,
        pattern=DNS_SUBDOMAIN,
        description="Name of a Deployment in the request's own namespace (with images; or use workloads).",
    )
    images: list[ImageUpdate] | None = Field(
        None,
        min_length=1,
        max_length=32,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["container"]},
        description="The Deployment's containers' new images (with deployment; or use workloads).",
    )
    workloads: list[WorkloadSpec] | None = Field(
        None,
        min_length=1,
        max_length=MAX_WORKLOADS,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["kind", "name"]},
        description="The workloads to change, in order, each rolled out before the next; on any failure all "
        "are undone, in reverse order (instead of deployment and images).",
    )
    priority: Priority = Priority.NORMAL
    """Queue order within the namespace: urgent, high, normal, low (then arrival)."""
    rollout: RolloutSpec = Field(default_factory=RolloutSpec)
    """How long the rollout may take."""
    rollback: RollbackSpec = Field(default_factory=RollbackSpec)
    """Whether a failed rollout is undone."""
    retry: RetrySpec = Field(default_factory=RetrySpec)
    """Retries of failures that waiting can cure, before anything changed."""
    verification: VerificationSpec = Field(default_factory=VerificationSpec)
    """How long the new version must stay healthy."""
    gates: Gates = Field(default_factory=Gates)
    """Health gates before and after the change."""

    @model_validator(mode="after")
    def _unique_containers(self) -> DeploymentRequestSpec:
        validate_form(self.deployment, self.images, self.workloads)
        containers = [i.container for i in self.images or []]
        if len(containers) != len(set(containers)):
            raise ValueError("each container may appear once in images")
        return self


class DeploymentRequest(Model):
    api_version: str = API_VERSION
    kind: str = KIND
    metadata: dict[str, Any] = Field(default_factory=dict)
    spec: DeploymentRequestSpec
    status: DeploymentRequestStatus | None = None


PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Deployment", "type": "string", "jsonPath": ".spec.deployment"},
    {"name": "Image", "type": "string", "jsonPath": ".spec.images[0].image"},
    {"name": "Target", "type": "string", "jsonPath": ".status.target"},
    {"name": "Priority", "type": "string", "jsonPath": ".spec.priority"},
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Position", "type": "integer", "jsonPath": ".status.queuePosition"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    {"name": "Held-By", "type": "string", "jsonPath": ".status.heldBy", "priority": 1},
    {"name": "Message", "type": "string", "jsonPath": ".status.message", "priority": 1},
]
