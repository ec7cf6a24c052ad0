"""The DeployApproval API (issue 19): a person's decision on one DeploymentRequest that a DeployPolicy holds for
approval.

Namespaced, ``deployreq.dev/v1alpha1``, plural ``deployapprovals``, in the request's namespace. It binds to one
instance and one spec of the request (``requestUID``, ``requestGeneration``): an approval of a request deleted and
created again under the same name, or of a spec changed since, does not count. ``spec.approver`` is who decides, as
the API server authenticated them: the ValidatingAdmissionPolicy ``deployreq-approvals`` (manifests/base) refuses an
approval whose approver is not ``request.userInfo.username`` and any change of an approval's spec, so the name the
operator records is the one the server authenticated. Who may create approvals is the ClusterRole
``deployreq-approver``, separate from ``deployreq-requester`` (docs/approvals.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field, ValidationError

from deployreq.api.base import DNS_SUBDOMAIN, Model

KIND = "DeployApproval"
PLURAL = "deployapprovals"
POLICY_NAME = "deployreq-approvals"
"""The ValidatingAdmissionPolicy (and its binding) that ties spec.approver to the authenticated user."""
CLUSTER_ROLE = "deployreq-approver"
"""The ClusterRole that may create approvals."""


PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Request", "type": "string", "jsonPath": ".spec.request"},
    {"name": "Decision", "type": "string", "jsonPath": ".spec.decision"},
    {"name": "Approver", "type": "string", "jsonPath": ".spec.approver"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    {"name": "Comment", "type": "string", "jsonPath": ".spec.comment", "priority": 1},
]


class Decision(StrEnum):
    APPROVE = "Approve"
    REJECT = "Reject"


class DeployApprovalSpec(Model):
    # A decision is a record: changing it would let an approval for one request or spec be turned into another.
    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "self == oldSelf", "message": "an approval's spec cannot change: create a new one"}
            ]
        }
    )

    request: str = Field(
        min_length=1,
        max_length=253,
        pattern=DNS_SUBDOMAIN,
        description="The name of the DeploymentRequest decided on, in the approval's namespace.",
    )
    request_uid: str = Field(
        alias="requestUID",
        min_length=1,
        max_length=64,
        description="The request's metadata.uid: the decision counts for this instance only (a request deleted and "
        "created again under the same name needs a new one).",
    )
    request_generation: int = Field(
        ge=1,
        description="The request's metadata.generation decided on: a request whose spec changed since needs a new "
        "decision.",
    )
    decision: Decision = Field(description="Approve lets the request start; Reject ends it Cancelled.")
    approver: str = Field(
        min_length=1,
        max_length=512,
        description="Who decides, exactly as the API server authenticates them (kubectl auth whoami): the "
        "ValidatingAdmissionPolicy deployreq-approvals refuses any other name, and any change of the spec.",
    )
    comment: str = Field(
        "", max_length=1024, description="Why: a rejection's reason, shown in the request's status message."
    )


class ApprovalStatus(Model):
    """The decision a request's run started (or was cancelled) on, as recorded by the operator."""

    decision: Decision
    """Approve or Reject."""
    approver: str
    """Who decided, as the API server authenticated them (the approval's VAP-checked spec.approver)."""
    approval: str
    """The DeployApproval's name."""
    policy: str | None = None
    """The DeployPolicy that asked for the approval."""
    comment: str | None = None
    """The approver's comment."""
    decided_at: str | None = Field(None, json_schema_extra={"format": "date-time"})
    """When the approval was created."""


@dataclass(frozen=True)
class Approval:
    """One DeployApproval as the operator reads it: its name, namespace, creation time and spec."""

    name: str
    namespace: str
    created: str
    spec: DeployApprovalSpec


def parse(body: dict[str, Any]) -> Approval | None:
    """A DeployApproval body as the API returns it; None when its spec is not one (never raises)."""
    meta = body.get("metadata") or {}
    try:
        spec = DeployApprovalSpec.model_validate(body.get("spec") or {})
    except ValidationError:
        return None
    return Approval(
        name=str(meta.get("name") or ""),
        namespace=str(meta.get("namespace") or ""),
        created=str(meta.get("creationTimestamp") or ""),
        spec=spec,
    )
