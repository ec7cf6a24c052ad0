"""The DeployPolicy's status, written by the operator (``/status``): what ``kubectl get deploypolicies`` shows.

Computed by :mod:`deployreq.decide.policy_status` from the policy, the namespaces' labels, the active requests and
the time; ``deployreq policy`` computes the same view on the client (it works without the operator).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from deployreq.api.base import Model

SHOWN_NAMESPACES = 100
"""At most this many namespace names in ``status.namespaces``; ``status.namespaceCount`` counts them all."""

VALID = "Valid"


class PolicyCondition(Model):
    """A condition as Kubernetes API conventions describe it."""

    type: str = Field(
        max_length=64, description="The condition's type: Valid (the operator can use the policy)."
    )
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str = Field(max_length=64, description="A CamelCase reason for the condition's last transition.")
    message: str = Field("", max_length=1024, description="What the condition means here, for a person.")
    last_transition_time: str = Field(
        description="When the status last changed (RFC 3339).", json_schema_extra={"maxLength": 64}
    )
    observed_generation: int | None = Field(
        None, ge=0, description="The policy's metadata.generation the condition was judged on."
    )


class DeployPolicyStatus(Model):
    """What the operator sees of the policy now; written by the operator only (the leader of an HA install)."""

    observed_generation: int | None = Field(
        None, ge=0, description="The policy's metadata.generation this status was computed from."
    )
    namespaces: list[str] = Field(
        default_factory=list,
        max_length=SHOWN_NAMESPACES,
        description=f"The selected namespaces, sorted by name (the first {SHOWN_NAMESPACES}).",
    )
    namespace_count: int = Field(0, ge=0, description="How many namespaces the policy selects.")
    active: int = Field(
        0,
        ge=0,
        description="Requests active now (Checking, Deploying, Verifying, RollingBack) in the selected namespaces: "
        "with maxConcurrent, the slots of its budget in use.",
    )
    open: bool | None = Field(
        None,
        description="Whether a request of priority normal may start now as far as this policy's windows and freezes "
        "go (the budget is active against maxConcurrent). Absent while the policy is invalid.",
    )
    message: str = Field(
        "",
        max_length=1024,
        description="Why requests may not start now, and when they may; empty while open.",
    )
    next_change: str | None = Field(
        None,
        description="When open next flips (RFC 3339); absent when no window or freeze will flip it.",
        json_schema_extra={"maxLength": 64},
    )
    next_window_opens: str | None = Field(
        None,
        description="When the next window opens (RFC 3339, within a week); absent without windows.",
        json_schema_extra={"maxLength": 64},
    )
    conditions: list[PolicyCondition] = Field(
        default_factory=list,
        max_length=8,
        description="Valid: False (with the reason and message) when the operator cannot use the policy and "
        "ignores it, e.g. a time zone it does not know.",
    )


PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Namespaces", "type": "integer", "jsonPath": ".status.namespaceCount"},
    {"name": "Active", "type": "integer", "jsonPath": ".status.active"},
    {"name": "Max", "type": "integer", "jsonPath": ".spec.maxConcurrent"},
    {"name": "Open", "type": "boolean", "jsonPath": ".status.open"},
    {"name": "Next-Window", "type": "string", "jsonPath": ".status.nextWindowOpens"},
    {"name": "Valid", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Valid")].status'},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    {"name": "Approval", "type": "boolean", "jsonPath": ".spec.approval.required", "priority": 1},
    {"name": "Next-Change", "type": "string", "jsonPath": ".status.nextChange", "priority": 1},
    {"name": "Message", "type": "string", "jsonPath": ".status.message", "priority": 1},
]
