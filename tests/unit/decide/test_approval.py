"""The approval gate (issue 19): which waiting requests a DeployPolicy holds for a decision, which decisions count,
what the held and the rejected requests show, and the queue around them."""

from __future__ import annotations

from typing import Any

from deployreq.api.approval import Approval, DeployApprovalSpec, parse
from deployreq.api.change import StatusChange
from deployreq.api.phases import Phase, allowed
from deployreq.api.policy import DeployPolicy, DeployPolicySpec
from deployreq.api.request import Request
from deployreq.api.times import epoch
from deployreq.decide import approval, namespace, status
from deployreq.decide.status import Status
from tests.unit.decide.test_namespace import req
from tests.unit.decide.test_progress import NOW


def policy(name: str = "prod", priorities: list[str] | None = None, required: bool = True) -> DeployPolicy:
    spec = {"namespaceSelector": {}, "approval": {"required": required, "priorities": priorities or []}}
    return DeployPolicy(name=name, spec=DeployPolicySpec.model_validate(spec))


def decision(
    of: Request,
    verdict: str = "Approve",
    by: str = "alice",
    created: str = "2027-01-15T08:05:00Z",
    **spec: Any,
) -> Approval:
    body = {
        "request": of.name,
        "requestUID": of.uid,
        "requestGeneration": of.generation,
        "decision": verdict,
        "approver": by,
        **spec,
    }
    return Approval(
        f"{of.name}-{verdict.lower()}-{by}", of.namespace, created, DeployApprovalSpec.model_validate(body)
    )


def with_spec(of: Request, **spec: Any) -> Request:
    return Request.parse({**of.body, "spec": {**of.body["spec"], **spec}})


def test_without_a_policy_asking_nothing_is_held() -> None:
    waiting = req("a")
    assert approval.gate([waiting], [], [], NOW) == approval.Gate()
    assert approval.gate([waiting], [policy(required=False)], [], NOW) == approval.Gate()
    assert approval.gate([waiting], [policy(priorities=["urgent"])], [], NOW) == approval.Gate()


def test_a_request_without_a_decision_awaits_approval_naming_the_policy() -> None:
    waiting = req("a")
    gate = approval.gate([waiting], [policy()], [], NOW)
    change = gate.held["a"]
    assert change is not None and change.phase == Phase.AWAITING_APPROVAL
    assert change.message == (
        "Waiting for an approval: policy prod requires one for normal requests "
        "(deployreq approve a -n ns, or deployreq reject)."
    )
    assert change.fields.queue_position is None and change.fields.approval is None
    assert gate.ended == [] and gate.approved == {}
    shown = req("a", "AwaitingApproval", message=change.message, observedGeneration=1)
    assert approval.gate([shown], [policy()], [], NOW).held == {"a": None}  # shows it already: no write


def test_only_a_decision_on_this_instance_and_this_spec_counts() -> None:
    waiting = req("a")
    other_uid = decision(waiting, requestUID="a-uid-of-an-earlier-request")
    other_generation = decision(waiting, requestGeneration=2)
    other_request = decision(req("b"))
    gate = approval.gate([waiting], [policy()], [other_uid, other_generation, other_request], NOW)
    assert "a" in gate.held and gate.approved == {}
    assert approval.gate([waiting], [policy()], [decision(waiting)], NOW).approved["a"].approver == "alice"


def test_an_approval_lets_it_start_and_the_run_records_the_approver() -> None:
    waiting = req("a", "AwaitingApproval")
    gate = approval.gate([waiting], [policy()], [decision(waiting, comment="ship it")], NOW)
    decided = gate.approved["a"]
    assert (decided.approver, decided.policy, decided.comment) == ("alice", "prod", "ship it")
    assert gate.held == {}
    due = namespace.next_due([waiting], NOW, gate.held)
    assert due.request is waiting
    start = namespace.start(waiting, None, "a@op", NOW)
    change = approval.starting(start.status, decided)
    assert change.fields.approval == decided and change.message is not None
    assert change.message.endswith("Approved by alice.")
    assert allowed(Phase.AWAITING_APPROVAL, change.phase or Phase.PENDING)
    written = status.apply(Status(), change, NOW, 1)
    assert written.approval is not None and written.approval.approver == "alice"
    unneeded = approval.starting(start.status, None)
    assert "approval" in unneeded.fields.model_fields_set and unneeded.fields.approval is None


def test_a_rejection_wins_and_ends_it_cancelled_naming_the_rejecter() -> None:
    waiting = req("a", "AwaitingApproval")
    approved = decision(waiting, created="2027-01-15T08:01:00Z")
    rejection = decision(waiting, "Reject", by="bob", comment="not during the sale")
    gate = approval.gate([waiting], [policy()], [approved, rejection], NOW)
    [(ended, change, note)] = gate.ended
    assert ended is waiting and change.phase == Phase.CANCELLED
    assert change.message == "Rejected by bob (DeployApproval a-reject-bob): not during the sale"
    assert (note.reason, note.warning) == ("Rejected", True)
    assert change.fields.reason == "Rejected" and change.fields.approval is not None
    assert gate.held == {"a": None} and gate.approved == {}
    assert namespace.next_due([waiting], NOW, gate.held).request is None


def test_a_held_request_takes_no_queue_position_and_does_not_block_the_queue() -> None:
    held = with_spec(req("held", created="2027-01-15T08:00:00Z"), priority="urgent")
    other = with_spec(req("other", created="2027-01-15T08:00:05Z"), deployment="api")
    gate = approval.gate([held, other], [policy(priorities=["urgent"])], [], NOW)
    assert set(gate.held) == {"held"}
    assert namespace.next_due([held, other], NOW, gate.held).request is other
    upkeep = namespace.upkeep([held, other], None, NOW, gate.held)
    writes = {r.name: c for r, c in upkeep.queued}
    assert writes["held"].phase == Phase.AWAITING_APPROVAL
    assert writes["other"].phase == Phase.QUEUED and writes["other"].fields.queue_position == 1


def test_a_held_request_is_still_superseded_by_a_newer_one() -> None:
    old = req("old", "AwaitingApproval", created="2027-01-15T08:00:00Z")
    new = req("new", created="2027-01-15T08:00:05Z")
    gate = approval.gate([old, new], [policy()], [], NOW)
    upkeep = namespace.upkeep([old, new], None, NOW, gate.held)
    assert [r.name for r, _, _ in upkeep.superseded] == ["old"]
    assert [(r.name, c.phase) for r, c in upkeep.queued] == [("new", Phase.AWAITING_APPROVAL)]


def test_the_condition_is_present_once_a_request_waited_and_false_after() -> None:
    change = StatusChange(phase=Phase.AWAITING_APPROVAL, message="waiting")
    waited = status.apply(Status(), change, NOW, 1)
    conditions = {c.type: c.status for c in waited.conditions or []}
    assert conditions["AwaitingApproval"] == "True" and conditions["Reconciling"] == "True"
    started = status.apply(waited, StatusChange(phase=Phase.DEPLOYING, message="go"), NOW + 1, 1)
    assert {c.type: c.status for c in started.conditions or []}["AwaitingApproval"] == "False"
    never = status.apply(Status(), StatusChange(phase=Phase.QUEUED, message="q"), NOW, 1)
    assert "AwaitingApproval" not in {c.type for c in never.conditions or []}


def test_how_long_held_requests_have_waited() -> None:
    entered = "2027-01-15T08:00:00Z"
    shown = req("a", "AwaitingApproval", history=[{"phase": "AwaitingApproval", "time": entered}])
    fresh = req("b")
    gate = approval.gate([shown, fresh], [policy()], [], NOW)
    since = approval.waiting_since([shown, fresh], gate, NOW)
    assert sorted(since) == sorted([epoch(entered), NOW])  # b enters AwaitingApproval with this pass


def test_an_approval_body_that_is_not_one_is_ignored() -> None:
    assert parse({"metadata": {"name": "x"}, "spec": {"request": "a"}}) is None
    good = parse(
        {
            "metadata": {"name": "x", "namespace": "ns", "creationTimestamp": "2027-01-15T08:00:00Z"},
            "spec": {
                "request": "a",
                "requestUID": "u",
                "requestGeneration": 1,
                "decision": "Approve",
                "approver": "alice",
            },
        }
    )
    assert good is not None and good.spec.approver == "alice" and good.namespace == "ns"


def asked_by(of: Request, user: str) -> Request:
    """The request as the MutatingAdmissionPolicy deployreq-requested-by leaves it: who asked, as authenticated."""
    meta = {**of.body["metadata"], "annotations": {"deployreq.dev/requested-by": user}}
    return Request.parse({**of.body, "metadata": meta})


def test_an_approval_by_who_asked_for_the_change_does_not_count() -> None:
    waiting = asked_by(req("a", "AwaitingApproval", observedGeneration=1), "alice")
    own = decision(waiting, by="alice")
    gate = approval.gate([waiting], [policy()], [own], NOW)
    assert gate.approved == {} and gate.ended == []
    change = gate.held["a"]
    assert change is not None and change.phase is None  # still AwaitingApproval, its message says why
    assert change.message == (
        "Waiting for an approval: policy prod requires one for normal requests "
        "(deployreq approve a -n ns, or deployreq reject); approval by alice does not count: alice asked for this "
        "change; another approver must approve."
    )
    note = gate.notes["a"]
    assert (note.reason, note.warning) == ("SelfApproval", True)
    assert note.message == (
        "The approval by alice (DeployApproval a-approve-alice) does not count: alice asked for this change; "
        "another approver must approve."
    )
    assert namespace.next_due([waiting], NOW, gate.held).request is None
    shown = asked_by(req("a", "AwaitingApproval", message=change.message, observedGeneration=1), "alice")
    again = approval.gate([shown], [policy()], [own], NOW)
    assert again.held == {"a": None} and again.notes == {}  # shows it already: no write, no second Event


def test_a_second_approver_counts_even_after_the_requesters_own_approval() -> None:
    waiting = asked_by(req("a", "AwaitingApproval"), "alice")
    own = decision(waiting, by="alice", created="2027-01-15T08:01:00Z")
    second = decision(waiting, by="bob", created="2027-01-15T08:02:00Z")
    gate = approval.gate([waiting], [policy()], [own, second], NOW)
    assert gate.approved["a"].approver == "bob" and gate.held == {} and gate.notes == {}


def test_the_requester_may_still_reject_their_own_request() -> None:
    waiting = asked_by(req("a", "AwaitingApproval"), "alice")
    gate = approval.gate([waiting], [policy()], [decision(waiting, "Reject", by="alice")], NOW)
    [(_, change, _)] = gate.ended
    assert change.phase == Phase.CANCELLED


def test_a_request_without_the_annotation_is_judged_as_before() -> None:
    """Created before the MutatingAdmissionPolicy was installed (or on a cluster without it): nobody is known to
    have asked, so any approver's approval counts."""
    waiting = req("a", "AwaitingApproval")
    assert approval.requested_by(waiting) is None
    gate = approval.gate([waiting], [policy()], [decision(waiting, by="alice")], NOW)
    assert gate.approved["a"].approver == "alice"
    other = asked_by(req("a", "AwaitingApproval"), "carol")
    assert (
        approval.gate([other], [policy()], [decision(other, by="alice")], NOW).approved["a"].approver
        == "alice"
    )
