"""Following a request until it ends, for CI: one line per phase change, and the exit code of the outcome.

Exit codes: 0 ``Succeeded``; 1 any other terminal phase; 2 a timeout or a usage error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deployreq import errors, kube
from deployreq.phases import TERMINAL, Phase

Obj = dict[str, Any]
EXIT_SUCCEEDED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


@dataclass(frozen=True)
class Target:
    """What counts as the awaited run: the generation (and rerun value) the request must have answered."""

    namespace: str
    name: str
    generation: int = 0
    rerun: str | None = None


def answered(obj: Obj, target: Target) -> bool:
    """Whether the status speaks of the run we wait for (not an earlier one)."""
    status = obj.get("status") or {}
    generation = int(obj.get("metadata", {}).get("generation") or 0)
    if int(status.get("observedGeneration") or 0) < max(target.generation, generation):
        return False
    return target.rerun is None or (status.get("observedRerun") or "") == target.rerun


def outcome(obj: Obj, target: Target) -> Phase | None:
    """The terminal phase of the awaited run, or None while it has not ended."""
    if not answered(obj, target):
        return None
    try:
        phase = Phase((obj.get("status") or {}).get("phase") or "Pending")
    except ValueError:
        return None
    return phase if phase in TERMINAL else None


def exit_code(phase: Phase) -> int:
    return EXIT_SUCCEEDED if phase == Phase.SUCCEEDED else EXIT_FAILED


def phase_line(obj: Obj, now: float | None = None) -> str:
    status = obj.get("status") or {}
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now or time.time()))
    position = status.get("queuePosition")
    where = f"position {position}" if position else "-"
    name = obj.get("metadata", {}).get("name", "")
    return f"{stamp}  {name:<24} {status.get('phase') or 'Pending':<12} {where:<11} {status.get('message') or ''}"


async def follow(client: kube.Kube, target: Target, wait_seconds: float, emit: Callable[[str], None]) -> int:
    """Print phase changes until the awaited run ends; the exit code of its outcome (2 on timeout)."""
    seen: tuple[str, str] | None = None
    deadline = time.monotonic() + wait_seconds

    def show(obj: Obj) -> Phase | None:
        nonlocal seen
        status = obj.get("status") or {}
        key = (str(status.get("phase")), str(status.get("queuePosition")))
        if answered(obj, target) and key != seen:
            seen = key
            emit(phase_line(obj))
        return outcome(obj, target)

    async def run() -> int:
        path = kube.request_path(target.namespace)
        while True:
            listing = await client.get(path, {"fieldSelector": f"metadata.name={target.name}"})
            items = listing.get("items") or []
            if not items:
                raise errors.NotFound(404, "NotFound", f'deploymentrequest "{target.name}" not found')
            done = show(items[0])
            if done is not None:
                return exit_code(done)
            params = {
                "fieldSelector": f"metadata.name={target.name}",
                "resourceVersion": listing["metadata"]["resourceVersion"],
                "allowWatchBookmarks": "true",
                "timeoutSeconds": str(max(1, int(deadline - time.monotonic()))),
            }
            async for event in client.watch(path, params):
                if event.get("type") == "DELETED":
                    raise errors.NotFound(404, "NotFound", f'deploymentrequest "{target.name}" was deleted')
                if event.get("type") in ("ADDED", "MODIFIED"):
                    done = show(event["object"])
                    if done is not None:
                        return exit_code(done)
                if event.get("type") == "ERROR":
                    break  # e.g. 410 Gone: list again

    try:
        return await asyncio.wait_for(run(), max(0.1, wait_seconds))
    except TimeoutError:
        return EXIT_USAGE
