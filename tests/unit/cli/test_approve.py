"""What `deployreq approve` and `reject` create: an approval bound to the request's uid and generation, in the name
the API server gave, owned by the request; and which requests they refuse to decide on."""

from __future__ import annotations

from typing import Any

from deployreq.api.approval import Decision, DeployApprovalSpec
from deployreq.cli.approve import approval_body, undecidable
from deployreq.cli.main import build_parser
from deployreq.cli.status import describe


def request(phase: str | None = None, generation: int = 3, observed: int = 3) -> dict[str, Any]:
    status = {"phase": phase, "observedGeneration": observed} if phase else {}
    meta = {"name": "web-1-2", "namespace": "shop", "uid": "u-1", "generation": generation}
    return {"metadata": meta, "spec": {}, "status": status}


def test_the_approval_binds_to_this_instance_and_spec_and_is_owned_by_the_request() -> None:
    body = approval_body(request("AwaitingApproval"), Decision.REJECT, "alice", "not today")
    assert body["kind"] == "DeployApproval" and body["metadata"]["namespace"] == "shop"
    assert body["metadata"]["generateName"] == "web-1-2-reject-"
    [owner] = body["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("DeploymentRequest", "web-1-2", "u-1")
    spec = DeployApprovalSpec.model_validate(body["spec"])  # what the CRD's schema accepts
    assert (spec.request, spec.request_uid, spec.request_generation) == ("web-1-2", "u-1", 3)
    assert (spec.decision, spec.approver, spec.comment) == (Decision.REJECT, "alice", "not today")


def test_a_running_or_ended_request_is_not_decided_on_but_a_changed_one_is() -> None:
    assert undecidable(request()) is None
    assert undecidable(request("AwaitingApproval")) is None
    assert undecidable(request("Queued")) is None
    assert undecidable(request("Deploying")) == 'deploymentrequest "web-1-2" is already running (Deploying)'
    assert (
        undecidable(request("Succeeded"))
        == 'deploymentrequest "web-1-2" has ended (Succeeded): nothing to decide'
    )
    assert undecidable(request("Succeeded", generation=4, observed=3)) is None  # its new spec waits


def test_approve_and_reject_are_commands_with_their_flags() -> None:
    args = build_parser().parse_args(["approve", "web-1-2", "-n", "shop", "--comment", "ok"])
    assert (args.command, args.name, args.namespace, args.comment) == ("approve", "web-1-2", "shop", "ok")
    args = build_parser().parse_args(["reject", "web-1-2", "--reason", "no"])
    assert (args.command, args.reason) == ("reject", "no")


def test_status_names_who_approved_the_run() -> None:
    body = request("Succeeded")
    body["spec"] = {"deployment": "web", "images": [{"container": "app", "image": "r/web:2"}]}
    body["status"]["approval"] = {
        "decision": "Approve",
        "approver": "alice",
        "approval": "a-1",
        "policy": "prod",
    }
    assert "Approval:     Approved by alice (a-1, policy prod)" in describe(body).splitlines()
