"""Approvals (issue 19): which waiting requests a DeployPolicy holds for a person's decision, and what each shows.

A waiting request that a governing policy requires an approval for (:func:`deployreq.decide.policy.approval_needed`)
is held in ``AwaitingApproval`` without taking the namespace lock, so the requests behind it in the queue run
meanwhile. The DeployApprovals that count are those of its namespace naming it, its uid and its generation (a request
deleted and created again, or changed since, needs a new decision). A rejection wins over any approval: the request
ends ``Cancelled`` naming the rejecter. An approval lets it into the queue; the run records who approved it
(``status.approval``) from the approval's ``spec.approver``, which the ValidatingAdmissionPolicy
``deployreq-approvals`` ties to the user the API server authenticated. An approval by whoever asked for the change
(the request's ``deployreq.dev/requested-by``, which the MutatingAdmissionPolicy ``deployreq-requested-by`` sets to
the authenticated user on create and on each change of the spec) does not count: the request keeps waiting, its
message saying so. A request without the annotation (created before the policy was installed) is judged as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from deployreq.api.approval import Approval, ApprovalStatus, Decision
from deployreq.api.change import Fields, StatusChange
from deployreq.api.names import REQUESTED_BY_ANNOTATION
from deployreq.api.phases import Phase
from deployreq.api.policy import DeployPolicy
from deployreq.api.request import Request
from deployreq.api.times import epoch, rfc3339_ms
from deployreq.decide.namespace import is_waiting
from deployreq.decide.policy import approval_needed
from deployreq.decide.run import fresh_run
from deployreq.decide.steps import Note


@dataclass(frozen=True)
class Approved:
    record: ApprovalStatus


@dataclass(frozen=True)
class Rejected:
    record: ApprovalStatus


@dataclass(frozen=True)
class Awaiting:
    policy: str
    self_approved: Approval | None = None
    """An approval that does not count: its approver asked for the change (the request's requested-by)."""


Verdict = Approved | Rejected | Awaiting


def binds(approval: Approval, req: Request) -> bool:
    """Whether ``approval`` decides on this instance and this spec of ``req``."""
    spec = approval.spec
    return (
        approval.namespace == req.namespace
        and spec.request == req.name
        and spec.request_uid == req.uid
        and spec.request_generation == req.generation
    )


def record(approval: Approval, policy: str) -> ApprovalStatus:
    return ApprovalStatus(
        decision=approval.spec.decision,
        approver=approval.spec.approver,
        approval=approval.name,
        policy=policy,
        comment=approval.spec.comment or None,
        decided_at=approval.created or None,
    )


def requested_by(req: Request) -> str | None:
    """Who asked for the request's spec, as the API server authenticated them (the MutatingAdmissionPolicy's
    annotation); None on a request created without the policy in force."""
    return req.annotations.get(REQUESTED_BY_ANNOTATION) or None


def verdict(req: Request, approvals: Sequence[Approval], policy: str) -> Verdict:
    """The decision on ``req`` (held by ``policy``): the earliest rejection, else the earliest approval by someone
    other than who asked for the change, else none (naming the requester's own approval, which does not count)."""
    mine = sorted((a for a in approvals if binds(a, req)), key=lambda a: (a.created, a.name))
    rejection = next((a for a in mine if a.spec.decision == Decision.REJECT), None)
    if rejection is not None:
        return Rejected(record(rejection, policy))
    approvals_of = [a for a in mine if a.spec.decision == Decision.APPROVE]
    requester = requested_by(req)
    counted = next((a for a in approvals_of if a.spec.approver != requester), None)
    if counted is not None:
        return Approved(record(counted, policy))
    return Awaiting(policy, approvals_of[0] if approvals_of else None)


def self_approval_text(approver: str) -> str:
    return f"approval by {approver} does not count: {approver} asked for this change; another approver must approve"


def awaiting_message(req: Request, policy: str, self_approved: Approval | None = None) -> str:
    message = (
        f"Waiting for an approval: policy {policy} requires one for {req.priority} requests "
        f"(deployreq approve {req.name} -n {req.namespace}, or deployreq reject)"
    )
    if self_approved is not None:
        return f"{message}; {self_approval_text(self_approved.spec.approver)}."
    return f"{message}."


def self_approval_note(approval: Approval) -> Note:
    approver = approval.spec.approver
    return Note(
        "SelfApproval",
        f"The approval by {approver} (DeployApproval {approval.name}) does not count: {approver} asked for this "
        "change; another approver must approve.",
        warning=True,
    )


def awaiting(req: Request, policy: str, self_approved: Approval | None = None) -> StatusChange | None:
    """The status of a request held for an approval; None when it shows it already."""
    message = awaiting_message(req, policy, self_approved)
    fresh = fresh_run(req)
    if not fresh and req.phase == Phase.AWAITING_APPROVAL and req.status.message == message:
        return None
    fields = Fields(queue_position=None, approval=None)
    if fresh:
        fields = Fields(
            queue_position=None,
            approval=None,
            observed_generation=req.generation,
            observed_rerun=req.rerun or None,
            attempt=None,
            next_attempt_at=None,
            completed_at=None,
        )
    if fresh or req.phase != Phase.AWAITING_APPROVAL:
        return StatusChange(fields, Phase.AWAITING_APPROVAL, message, req.generation)
    return StatusChange(fields, message=message)


def rejected(req: Request, decided: ApprovalStatus, now: float) -> tuple[StatusChange, Note]:
    """A rejected request ends Cancelled, its message naming the rejecter (and their reason)."""
    why = f": {decided.comment}" if decided.comment else "."
    message = f"Rejected by {decided.approver} (DeployApproval {decided.approval}){why}"
    fields = Fields(
        queue_position=None,
        completed_at=rfc3339_ms(now),
        observed_generation=req.generation,
        observed_rerun=req.rerun or None,
        reason="Rejected",
        approval=decided,
    )
    change = StatusChange(fields, Phase.CANCELLED, message, req.generation)
    return change, Note("Rejected", message, warning=True)


def starting(change: StatusChange, decided: ApprovalStatus | None) -> StatusChange:
    """A run's start with the decision it starts on recorded (``status.approval``; cleared when none was needed)."""
    fields = change.fields.model_copy(update={"approval": decided})
    message = change.message
    if decided is not None and message:
        message = f"{message} Approved by {decided.approver}."
    return StatusChange(fields, change.phase, message, change.generation)


def waiting_since(reqs: Sequence[Request], gated: Gate, now: float) -> list[float]:
    """Since when each request the gate holds for an approval has waited (epoch seconds): when it entered
    AwaitingApproval, or ``now`` when it enters it with this pass."""
    result = []
    for req in reqs:
        if req.name not in gated.held or any(old.name == req.name for old, _, _ in gated.ended):
            continue
        entered = [h.time for h in req.status.history or [] if h.phase == Phase.AWAITING_APPROVAL]
        shows = req.phase == Phase.AWAITING_APPROVAL and entered
        result.append(epoch(entered[-1]) if shows else now)
    return result


def approved_note(decided: ApprovalStatus) -> Note:
    return Note(
        "Approved",
        f"Approved by {decided.approver} (DeployApproval {decided.approval}, policy {decided.policy}).",
    )


@dataclass
class Gate:
    """The approval gate over a namespace's waiting requests.

    ``held``: requests that may not start, with the status each shows (None: it shows it already, or it ends now);
    ``ended``: rejected requests with their final status and Event; ``approved``: the decision each approved request
    starts on; ``notes``: the Event of a held request whose status changes to say its requester's own approval does
    not count.
    """

    held: dict[str, StatusChange | None] = field(default_factory=dict)
    ended: list[tuple[Request, StatusChange, Note]] = field(default_factory=list)
    approved: dict[str, ApprovalStatus] = field(default_factory=dict)
    notes: dict[str, Note] = field(default_factory=dict)


def gate(
    reqs: Sequence[Request], policies: Sequence[DeployPolicy], approvals: Sequence[Approval], now: float
) -> Gate:
    """The approval gate for the waiting requests of one namespace, governed by ``policies``."""
    result = Gate()
    for req in reqs:
        if not is_waiting(req):
            continue
        policy = approval_needed(policies, req.spec.priority)
        if policy is None:
            continue
        match verdict(req, approvals, policy):
            case Approved(record=decided):
                result.approved[req.name] = decided
            case Rejected(record=decided):
                change, note = rejected(req, decided, now)
                result.held[req.name] = None
                result.ended.append((req, change, note))
            case Awaiting(policy=name, self_approved=own):
                shows = result.held[req.name] = awaiting(req, name, own)
                if shows is not None and own is not None:
                    result.notes[req.name] = self_approval_note(own)
    return result
