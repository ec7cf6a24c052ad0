"""A request a DeployPolicy holds for an approval, pass by pass: it waits AwaitingApproval without touching the
namespace lock, starts on the pass after an approval appears (recording the approver), or ends Cancelled on a
rejection (docs/approvals.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from deployreq.api.approval import Decision
from deployreq.api.phases import Phase
from deployreq.api.policy import DeployPolicy, DeployPolicySpec
from deployreq.cli.approve import approval_body, approvals_path
from deployreq.cluster.cache import slim
from tests.engine.harness import GOOD, NAMESPACE, Bench, kinds, rolled_out, submit

ROOT = Path(__file__).resolve().parents[2]
APPROVAL_CRD = ROOT / "crds" / "deployapprovals.deployreq.dev.yaml"
POLICY = DeployPolicy(
    name="prod",
    spec=DeployPolicySpec.model_validate({"namespaceSelector": {}, "approval": {"required": True}}),
)


async def _held_by_policy(bench: Bench, monkeypatch: pytest.MonkeyPatch) -> None:
    """The approval CRD installed, and the policy governing the namespace."""
    crd = yaml.safe_load(APPROVAL_CRD.read_text())
    await bench.client.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd['metadata']['name']}"
    for _ in range(200):
        conditions = (await bench.client.get(path)).get("status", {}).get("conditions") or []
        if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
            break
        await asyncio.sleep(0.05)
    monkeypatch.setattr(bench.worker.ctx.cache, "policies_for", lambda namespace: [POLICY])


async def _step(bench: Bench) -> list[Any]:
    """One pass, with the approvals mirrored as the operator's informer would have them."""

    async def mirror() -> None:
        listed = await bench.client.get(approvals_path(NAMESPACE))
        bench.worker.ctx.cache.deployapprovals.replace([slim(i) for i in listed.get("items", [])])

    return await bench.step(meanwhile=mirror)


async def _decide(bench: Bench, decision: Decision, approver: str, comment: str = "") -> None:
    request = await bench.client.get(
        f"/apis/deployreq.dev/v1alpha1/namespaces/{NAMESPACE}/deploymentrequests/release"
    )
    await bench.client.create(approvals_path(NAMESPACE), approval_body(request, decision, approver, comment))


async def test_a_held_request_waits_without_the_lock_and_starts_once_approved(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _held_by_policy(bench, monkeypatch)
    await bench.until(lambda: rolled_out(bench))
    await submit(bench.client, "release", GOOD)

    # Pass 1: AwaitingApproval, and nothing else: no Lease, no finalizer, no Deployment write.
    writes = await _step(bench)
    assert kinds(writes) == ["PATCH status"]
    held = writes[0].status
    assert held["phase"] == Phase.AWAITING_APPROVAL and "queuePosition" not in held
    assert held["message"].startswith("Waiting for an approval: policy prod requires one for normal requests")
    assert await _step(bench) == []  # it shows that already: nothing to write until a decision
    assert bench.worker.awaiting_approval  # the hold gauges see it

    # Pass 3: an approval for this request: the run starts, recording who approved it.
    await _decide(bench, Decision.APPROVE, "alice", "checked")
    writes = await _step(bench)
    assert kinds(writes)[:3] == ["POST lease", "PATCH request", "PATCH status"]
    start = writes[2].status
    assert start["phase"] == Phase.DEPLOYING and start["message"].endswith("Approved by alice.")
    assert start["approval"]["approver"] == "alice" and start["approval"]["policy"] == "prod"
    assert start["approval"]["comment"] == "checked"
    req = await bench.request("release")
    conditions = {c.type: c.status for c in req.status.conditions or []}
    assert conditions["AwaitingApproval"] == "False"
    assert bench.worker.awaiting_approval == []


async def test_a_rejected_request_ends_cancelled_without_ever_taking_the_lock(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _held_by_policy(bench, monkeypatch)
    await bench.until(lambda: rolled_out(bench))
    await submit(bench.client, "release", GOOD)
    assert kinds(await _step(bench)) == ["PATCH status"]
    await _decide(bench, Decision.APPROVE, "alice")
    await _decide(bench, Decision.REJECT, "bob", "not now")  # a rejection wins over an approval
    writes = await _step(bench)
    assert kinds(writes) == ["PATCH status"]
    ended = writes[0].status
    assert ended["phase"] == Phase.CANCELLED and ended["reason"] == "Rejected"
    assert ended["message"].startswith("Rejected by bob (DeployApproval release-reject-")
    assert ended["message"].endswith("): not now")
    assert await _step(bench) == []
    dep = await bench.deployment()
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/web:1"
