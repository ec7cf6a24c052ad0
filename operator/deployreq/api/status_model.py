"""The request's status as the operator writes it: phase, run records, history, conditions, gates, rollback."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from deployreq.api.approval import ApprovalStatus
from deployreq.api.base import ImageUpdate, Model
from deployreq.api.phases import Phase
from deployreq.api.workload import WorkloadStatus

HISTORY_LIMIT = 20


class Condition(Model):
    type: str
    """Condition type: Complete, Succeeded, Ready, Reconciling or Stalled."""
    status: str = Field(pattern=r"^(True|False|Unknown)$")
    """True, False or Unknown."""
    reason: str | None = None
    """A CamelCase reason for the last transition."""
    message: str | None = None
    """A human-readable explanation."""
    last_transition_time: str | None = None
    """When the status last changed."""
    observed_generation: int | None = None
    """The request's generation the condition describes."""


class HistoryEntry(Model):
    phase: Phase
    """The phase entered."""
    time: str
    """When it was entered."""
    message: str | None = None
    """What happened."""


class GateStage(StrEnum):
    PRE = "pre"
    POST = "post"


class GatePhase(StrEnum):
    PENDING = "Pending"
    PASSING = "Passing"
    PASSED = "Passed"
    FAILED = "Failed"


class GateStatus(Model):
    name: str
    """The gate's name."""
    stage: GateStage
    """pre or post."""
    kind: str
    """http, prometheus or pods."""
    phase: GatePhase
    """Pending, Passing, Passed or Failed."""
    consecutive_successes: int = 0
    """Passing checks in a row."""
    consecutive_failures: int = 0
    """Failing checks in a row."""
    last_value: str | None = None
    """What the last check saw: a status code, a number, or a short excerpt (Secret values masked)."""
    last_error: str | None = None
    """Why the last check failed."""
    last_check_time: str | None = None
    """When the gate was last checked."""
    final: bool | None = None
    """True when the gate failed for a cause waiting cannot cure (a refused address, a check that cannot be
    carried out as written): the request ends Failed at once instead of retrying."""


class RollbackStatus(Model):
    target_revision: int | None = None
    """The Deployment revision the rollback restores."""
    patched_generation: int | None = None
    """The Deployment's generation after the rollback patch."""
    patched_at: str | None = None
    """When the rollback patch was written."""


class AvailabilityStatus(Model):
    """How long the workload ran below its desired available replicas while this run deployed, verified and rolled
    back (from the workload's status as the operator saw it)."""

    degraded_seconds: float | None = None
    """Seconds with fewer available replicas than desired (down time included)."""
    down_seconds: float | None = None
    """Seconds with no available replica while some were desired."""
    degraded_since: str | None = None
    """Since when the workload is below its desired available replicas (unset while it is not)."""
    down_since: str | None = None
    """Since when the workload has no available replica (unset while it has one)."""


class DeploymentRequestStatus(Model):
    phase: Phase | None = None
    """Where the request stands: Pending, Queued, AwaitingApproval, Checking, Deploying, Verifying, Succeeded, RollingBack, RolledBack, Failed, Cancelled or Superseded."""
    queue_position: int | None = None
    """Position in the namespace's queue while waiting (1 is next)."""
    observed_generation: int | None = None
    """The generation of the spec this status describes."""
    observed_rerun: str | None = None
    """The rerun annotation value this run answers."""
    attempt: int | None = None
    """The current attempt, from 1."""
    images: list[ImageUpdate] | None = None
    """The images this run sets."""
    previous_images: list[ImageUpdate] | None = None
    """The images before this run (what a rollback restores)."""
    previous_revision: int | None = None
    """The Deployment revision before this run."""
    revision: int | None = None
    """The Deployment revision this run created."""
    started_at: str | None = Field(None, json_schema_extra={"format": "date-time"})
    """When this run started."""
    completed_at: str | None = Field(None, json_schema_extra={"format": "date-time"})
    """When the request reached its final phase."""
    next_attempt_at: str | None = None
    """When a waiting retry runs next."""
    message: str | None = None
    """What is happening now, or why it ended."""
    failure: str | None = None
    """What failed, in words (the rollout's verdict, the gate's error)."""
    reason: str | None = None
    """Why the run ended, as a CamelCase reason (RolledOut, Verified, AlreadyInPlace, RolledBack, GateFailed,
    RetriesExhausted, InvalidRequest, ...): what deployreq report counts failures by."""
    held_by: str | None = None
    """The DeployPolicy holding the waiting request back (a freeze, outside its windows, its budget full); the
    message says why and when it may start."""
    history: list[HistoryEntry] | None = Field(
        None, max_length=HISTORY_LIMIT, description="The latest phase changes, oldest first."
    )
    conditions: list[Condition] | None = None
    """Conditions for kubectl wait and kstatus."""
    gates: list[GateStatus] | None = None
    """Every gate of the current run."""
    lock_holder: str | None = None
    """The operator that holds the namespace lock for this request."""
    deployment_uid: str | None = Field(None, alias="deploymentUID")
    """The uid of the Deployment patched, so a recreated one is not mistaken for it."""
    patched_generation: int | None = None
    """The Deployment's generation after the image patch."""
    patched_at: str | None = None
    """When the image patch was written."""
    verifying_since: str | None = None
    """When the verification window began."""
    failure_detected_at: str | None = None
    """When the failure was detected."""
    rollback: RollbackStatus | None = None
    """The rollback in progress or done."""
    availability: AvailabilityStatus | None = None
    """Degraded and down time of the workload during this run."""
    target: str | None = None
    """What this run changes, at a glance: deployment/api,statefulset/worker."""
    workloads: list[WorkloadStatus] | None = None
    """What this run did to each workload of spec.workloads, in their order (unset for spec.deployment)."""
    approval: ApprovalStatus | None = None
    """The approval this run started on (or the rejection that cancelled it), when a DeployPolicy asked for one."""
