"""``deployreq status NAME``: a request, its gates, its history and its conditions, as ``kubectl describe`` would."""

from __future__ import annotations

import argparse

from deployreq import errors
from deployreq.api.approval import Decision
from deployreq.api.request import Request
from deployreq.api.status_model import DeploymentRequestStatus
from deployreq.api.workload import WorkloadStatus
from deployreq.cli.common import ClientCommand, Obj, fail, say
from deployreq.cluster import kube


def describe(obj: Obj) -> str:
    req = Request.parse(obj)
    status = req.status
    target = (
        _workload_lines(req)
        if req.is_release
        else [
            f"Deployment:   {req.deployment}",
            "Images:       " + ", ".join(f"{c}={i}" for c, i in req.spec_images.items()),
        ]
    )
    lines = [
        f"Name:         {req.name}",
        f"Namespace:    {req.namespace}",
        *target,
        f"Priority:     {req.priority}",
        f"Phase:        {req.phase.value}",
        f"Position:     {status.queue_position or '-'}",
        f"Attempt:      {status.attempt or '-'}",
        f"Revision:     {status.previous_revision or '-'} -> {status.revision or '-'}",
        f"Message:      {status.message or ''}",
    ]
    if status.next_attempt_at and req.waiting:
        lines.insert(-1, f"Next attempt: {status.next_attempt_at}")
    if status.reason:
        lines.append(f"Reason:       {status.reason}")
    if status.approval is not None:  # docs/approvals.md
        decided = status.approval
        verb = "Approved" if decided.decision == Decision.APPROVE else "Rejected"
        lines.append(
            f"Approval:     {verb} by {decided.approver} ({decided.approval}, policy {decided.policy or '-'})"
        )
    availability = status.availability
    if availability is not None:
        lines.append(
            f"Degraded:     {float(availability.degraded_seconds or 0):.1f}s "
            f"(down {float(availability.down_seconds or 0):.1f}s)"
            + (" and still below its desired replicas" if availability.degraded_since else "")
        )
    return "\n".join(lines + _gate_lines(status) + _history_lines(status) + _condition_lines(status))


def _workload_lines(req: Request) -> list[str]:
    """Each workload of spec.workloads, its images and what this run did to it."""
    done = {(e.kind, e.name): e for e in req.status.workloads or []}
    lines = ["Workloads:"]
    for target in req.targets:
        images = ", ".join(f"{c}={i}" for c, i in target.image_map.items())
        entry = done.get((target.kind, target.name))
        lines.append(f"  {target.ref:<28} {images}  {_workload_state(entry) if entry else 'not patched yet'}")
    return lines


def _workload_state(entry: WorkloadStatus) -> str:
    """What this run did to one workload, in words."""
    if entry.left_alone:
        return f"left alone: {entry.left_alone}"
    undo = entry.rollback
    if undo is not None and undo.available_at:
        return f"rolled back to revision {undo.target_revision} (now revision {entry.revision or '-'})"
    if undo is not None and undo.patched_generation:
        return f"rolling back to revision {undo.target_revision}"
    if entry.unchanged:
        return "already in place"
    if entry.rolled_out_at:
        return f"rolled out (revision {entry.previous_revision or '-'} -> {entry.revision or '-'})"
    if entry.patched_generation:
        return f"patched (generation {entry.patched_generation}), rolling out"
    return "about to be patched"


def _gate_lines(status: DeploymentRequestStatus) -> list[str]:
    gates = status.gates or []
    return (["Gates:"] if gates else []) + [
        f"  {g.stage.value}/{g.name} ({g.kind}): {g.phase.value} "
        f"ok={g.consecutive_successes} fail={g.consecutive_failures} "
        f"{g.last_error or g.last_value or ''}".rstrip()
        for g in gates
    ]


def _history_lines(status: DeploymentRequestStatus) -> list[str]:
    history = status.history or []
    return (["History:"] if history else []) + [
        f"  {h.time}  {h.phase.value:<12} {h.message or ''}" for h in history
    ]


def _condition_lines(status: DeploymentRequestStatus) -> list[str]:
    conditions = status.conditions or []
    return (["Conditions:"] if conditions else []) + [
        f"  {c.type:<12} {c.status:<8} {c.reason or ''}" for c in conditions
    ]


async def cmd_status(client: kube.Kube, namespace: str, name: str) -> int:
    try:
        obj = await client.get(kube.request_path(namespace, name))
    except errors.NotFound:
        return fail(f'deploymentrequest "{name}" not found in namespace "{namespace}"')
    say(describe(obj))
    return 0


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("name")


async def _run(client: kube.Kube, namespace: str, args: argparse.Namespace) -> int:
    return await cmd_status(client, namespace, args.name)


COMMAND = ClientCommand("status", "show a request, its gates and its history", _configure, _run)
