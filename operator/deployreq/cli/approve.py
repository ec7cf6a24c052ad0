"""``deployreq approve NAME``: approve a request that a DeployPolicy holds for approval (docs/approvals.md).

The approval is a DeployApproval created as the current user: who that is comes from the API server itself (a
SelfSubjectReview, what ``kubectl auth whoami`` asks), so ``spec.approver`` is the name the ValidatingAdmissionPolicy
``deployreq-approvals`` checks it against. It binds to the request's uid and generation, and is owned by the request
(deleted with it). Approving a request you asked for yourself (its ``deployreq.dev/requested-by``) is refused up
front: the operator would not count it (the server-side rule; this check only saves a useless approval).
``deployreq reject`` (:mod:`deployreq.cli.reject`) shares all of this; a requester may reject their own request.
"""

from __future__ import annotations

import argparse
from typing import Any

from deployreq import errors
from deployreq.api import approval, names
from deployreq.api.approval import Decision
from deployreq.api.phases import ACTIVE, TERMINAL, Phase
from deployreq.cli.common import ClientCommand, fail, say
from deployreq.cluster import kube

Obj = dict[str, Any]
SELF_SUBJECT_REVIEWS = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


def approvals_path(namespace: str) -> str:
    return kube.collection_path(f"/apis/{names.API_VERSION}", approval.PLURAL, namespace)


def approval_body(request: Obj, decision: Decision, approver: str, comment: str) -> Obj:
    """The DeployApproval deciding on ``request`` (a body as the API returns it), owned by the request."""
    meta = request["metadata"]
    return {
        "apiVersion": names.API_VERSION,
        "kind": approval.KIND,
        "metadata": {
            "generateName": f"{meta['name'][:200]}-{decision.value.lower()}-",
            "namespace": meta["namespace"],
            "ownerReferences": [
                {
                    "apiVersion": names.API_VERSION,
                    "kind": names.KIND,
                    "name": meta["name"],
                    "uid": meta["uid"],
                }
            ],
        },
        "spec": {
            "request": meta["name"],
            "requestUID": meta["uid"],
            "requestGeneration": int(meta.get("generation") or 1),
            "decision": decision.value,
            "approver": approver,
            "comment": comment,
        },
    }


def undecidable(request: Obj) -> str | None:
    """Why a decision on ``request`` would change nothing (it runs or has ended), or None."""
    phase = (request.get("status") or {}).get("phase") or Phase.PENDING.value
    meta = request["metadata"]
    observed = (request.get("status") or {}).get("observedGeneration") or 0
    if phase in {p.value for p in ACTIVE}:
        return f'deploymentrequest "{meta["name"]}" is already running ({phase})'
    if phase in {p.value for p in TERMINAL} and observed == meta.get("generation"):
        return f'deploymentrequest "{meta["name"]}" has ended ({phase}): nothing to decide'
    return None


def requested_by(request: Obj) -> str:
    """Who asked for the request's spec (the annotation the MutatingAdmissionPolicy deployreq-requested-by sets)."""
    annotations = request["metadata"].get("annotations") or {}
    return str(annotations.get(names.REQUESTED_BY_ANNOTATION) or "")


async def whoami(client: kube.Kube) -> str:
    """The current user as the API server authenticates them (SelfSubjectReview)."""
    review = await client.create(
        SELF_SUBJECT_REVIEWS, {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    )
    return str(((review.get("status") or {}).get("userInfo") or {}).get("username") or "")


async def decide(client: kube.Kube, namespace: str, name: str, decision: Decision, comment: str) -> int:
    """Create the DeployApproval of ``decision`` on request ``name`` as the current user."""
    try:
        request = await client.get(kube.request_path(namespace, name))
    except errors.NotFound:
        return fail(f'deploymentrequest "{name}" not found in namespace "{namespace}"')
    problem = undecidable(request)
    if problem is not None:
        return fail(problem)
    approver = await whoami(client)
    if not approver:
        return fail("the API server did not say who you are (SelfSubjectReview without a username)")
    if decision == Decision.APPROVE and requested_by(request) == approver:
        return fail(
            f'you ({approver}) asked for deploymentrequest "{name}": your own approval does not count; '
            "another approver must approve"
        )
    created = await client.create(
        approvals_path(namespace), approval_body(request, decision, approver, comment)
    )
    verb = "approved" if decision == Decision.APPROVE else "rejected"
    say(
        f"deployapproval.{names.GROUP}/{created['metadata']['name']} created: "
        f"deploymentrequest {name} {verb} by {approver}"
    )
    return 0


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="the DeploymentRequest to approve")
    p.add_argument("--comment", default="", help="why (recorded in the approval and the request's status)")


async def _run(client: kube.Kube, namespace: str, args: argparse.Namespace) -> int:
    return await decide(client, namespace, args.name, Decision.APPROVE, args.comment)


COMMAND = ClientCommand(
    "approve",
    "approve a request a DeployPolicy holds for approval, as the current user (needs the deployreq-approver role; "
    "not a request you asked for yourself: a second person must approve)",
    _configure,
    _run,
)
