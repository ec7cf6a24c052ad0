"""``deployreq status NAME``: a request, its gates, its history and its conditions, as ``kubectl describe`` would."""

from __future__ import annotations

import argparse

from deployreq import errors
from deployreq.api.phases import WAITING, Phase
from deployreq.cli.common import ClientCommand, Obj, fail, say
from deployreq.cluster import kube


def describe(obj: Obj) -> str:
    spec, status, meta = obj.get("spec") or {}, obj.get("status") or {}, obj.get("metadata") or {}
    lines = [
        f"Name:         {meta.get('name')}",
        f"Namespace:    {meta.get('namespace')}",
        f"Deployment:   {spec.get('deployment')}",
        "Images:       " + ", ".join(f"{i['container']}={i['image']}" for i in spec.get("images") or []),
        f"Priority:     {spec.get('priority', 'normal')}",
        f"Phase:        {status.get('phase', Phase.PENDING.value)}",
        f"Position:     {status.get('queuePosition') or '-'}",
        f"Attempt:      {status.get('attempt') or '-'}",
        f"Revision:     {status.get('previousRevision') or '-'} -> {status.get('revision') or '-'}",
        f"Message:      {status.get('message') or ''}",
    ]
    if status.get("nextAttemptAt") and status.get("phase") in WAITING:
        lines.insert(-1, f"Next attempt: {status['nextAttemptAt']}")
    if status.get("reason"):
        lines.append(f"Reason:       {status['reason']}")
    availability = status.get("availability") or {}
    if availability:
        lines.append(
            f"Degraded:     {float(availability.get('degradedSeconds') or 0):.1f}s "
            f"(down {float(availability.get('downSeconds') or 0):.1f}s)"
            + (" and still below its desired replicas" if availability.get("degradedSince") else "")
        )
    return "\n".join(lines + _gate_lines(status) + _history_lines(status) + _condition_lines(status))


def _gate_lines(status: Obj) -> list[str]:
    gates = status.get("gates") or []
    return (["Gates:"] if gates else []) + [
        f"  {g.get('stage')}/{g.get('name')} ({g.get('kind')}): {g.get('phase')} "
        f"ok={g.get('consecutiveSuccesses', 0)} fail={g.get('consecutiveFailures', 0)} "
        f"{g.get('lastError') or g.get('lastValue') or ''}".rstrip()
        for g in gates
    ]


def _history_lines(status: Obj) -> list[str]:
    history = status.get("history") or []
    return (["History:"] if history else []) + [
        f"  {h.get('time')}  {h.get('phase'):<12} {h.get('message') or ''}" for h in history
    ]


def _condition_lines(status: Obj) -> list[str]:
    conditions = status.get("conditions") or []
    return (["Conditions:"] if conditions else []) + [
        f"  {c.get('type'):<12} {c.get('status'):<8} {c.get('reason', '')}" for c in conditions
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
