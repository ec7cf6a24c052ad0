"""``deployreq reject NAME``: reject a request that a DeployPolicy holds for approval; it ends Cancelled, its
message naming who rejected it and why. A DeployApproval with decision Reject, made as ``deployreq approve`` makes
one (:mod:`deployreq.cli.approve`)."""

from __future__ import annotations

import argparse

from deployreq.api.approval import Decision
from deployreq.cli.approve import decide
from deployreq.cli.common import ClientCommand
from deployreq.cluster import kube


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="the DeploymentRequest to reject")
    p.add_argument("--reason", default="", help="why (shown in the request's status message)")


async def _run(client: kube.Kube, namespace: str, args: argparse.Namespace) -> int:
    return await decide(client, namespace, args.name, Decision.REJECT, args.reason)


COMMAND = ClientCommand(
    "reject",
    "reject a request a DeployPolicy holds for approval (it ends Cancelled), as the current user (needs the "
    "deployreq-approver role)",
    _configure,
    _run,
)
