"""Following a request until it ends, for CI: one line per phase change, progress between them, and the exit code.

Progress: on a terminal a live line (phase, time waited, verification left, gates as they come) rewritten in place;
in a log (not a terminal) a progress line whenever 30 s passed without a line, and never a control character.

Exit codes: 0 ``Succeeded``; 1 any other terminal phase; 2 a timeout or a usage error.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from deployreq import errors
from deployreq.api.phases import Phase
from deployreq.api.request import Request
from deployreq.api.times import parse_or_none, rfc3339
from deployreq.cluster import kube
from deployreq.durations import format_seconds

Obj = dict[str, Any]
EXIT_SUCCEEDED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
HEARTBEAT_SECONDS = 30.0


@dataclass(frozen=True)
class Target:
    """What counts as the awaited run: the generation (and rerun value) the request must have answered."""

    namespace: str
    name: str
    generation: int = 0
    rerun: str | None = None


def answered(obj: Obj, target: Target) -> bool:
    """Whether the status speaks of the run we wait for (not an earlier one)."""
    status = Request.parse(obj).status
    generation = int(obj.get("metadata", {}).get("generation") or 0)
    if (status.observed_generation or 0) < max(target.generation, generation):
        return False
    return target.rerun is None or (status.observed_rerun or "") == target.rerun


def outcome(obj: Obj, target: Target) -> Phase | None:
    """The terminal phase of the awaited run, or None while it has not ended."""
    if not answered(obj, target):
        return None
    req = Request.parse(obj)
    return req.phase if req.terminal else None


def exit_code(phase: Phase) -> int:
    return EXIT_SUCCEEDED if phase == Phase.SUCCEEDED else EXIT_FAILED


def phase_line(obj: Obj, now: float | None = None, name_width: int = 24) -> str:
    req = Request.parse(obj)
    stamp = rfc3339(now or time.time())
    position = req.status.queue_position
    where = f"position {position}" if position else "-"
    return (
        f"{stamp}  {req.name:<{name_width}} {req.phase.value:<12} {where:<11} {req.status.message or ''}"
    ).rstrip()


def progress_line(obj: Obj, now: float, waited: float) -> str:
    """What a request is doing now, for the live line and the CI heartbeat: phase, time waited, what remains.

    e.g. ``web-1-1  Verifying  waited 1m5s  verification 25s left  gates: smoke Passed, errors Passing``.
    """
    req = Request.parse(obj)
    status = req.status
    parts = [req.name, req.phase.value, f"waited {format_seconds(waited)}"]
    if req.waiting:
        retry_at = parse_or_none(status.next_attempt_at)
        if retry_at is not None and retry_at > now:
            parts.append(f"next attempt in {format_seconds(retry_at - now)}")
        elif status.queue_position:
            parts.append(f"position {status.queue_position}")
    if req.phase == Phase.VERIFYING:
        since = parse_or_none(status.verifying_since)
        seconds = req.spec.verification.duration_seconds
        if since is not None and seconds:
            parts.append(f"verification {format_seconds(max(0.0, since + seconds - now))} left")
    if status.gates:
        parts.append("gates: " + ", ".join(f"{g.name} {g.phase.value}" for g in status.gates))
    return "  ".join(parts)


class Progress:
    """How following is shown. Phase changes are always printed as lines.

    On a terminal (``live``), one status line is rewritten in place (carriage return and erase-line) every second;
    elsewhere (CI logs, pipes) no control characters are written, and a progress line is printed whenever
    ``heartbeat`` seconds passed without any line.
    """

    def __init__(
        self,
        emit: Callable[[str], None],
        live: bool,
        heartbeat: float = HEARTBEAT_SECONDS,
        name_width: int = 24,
        stream: TextIO | None = None,
    ) -> None:
        self.emit = emit
        self.live = live and stream is not None
        self.stream = stream
        self.heartbeat = heartbeat
        self.name_width = name_width
        self.started = time.monotonic()
        self.last_line = self.started
        self._live_shown = False

    @classmethod
    def for_stream(
        cls, stream: TextIO, heartbeat: float = HEARTBEAT_SECONDS, name_width: int = 24
    ) -> Progress:
        def emit(text: str) -> None:
            stream.write(text + "\n")
            stream.flush()

        return cls(emit, stream.isatty(), heartbeat, name_width, stream)

    @property
    def interval(self) -> float:
        return 1.0 if self.live else max(0.5, self.heartbeat)

    def phase(self, obj: Obj) -> None:
        self._clear_live()
        self.emit(phase_line(obj, name_width=self.name_width))
        self.last_line = time.monotonic()

    def tick(self, obj: Obj | None, answered: bool = True) -> None:
        if obj is None:
            return
        now = time.monotonic()
        if answered:
            text = progress_line(obj, time.time(), now - self.started)
        else:
            text = (
                f"{obj.get('metadata', {}).get('name', '')}  waited {format_seconds(now - self.started)}  "
                "no answer from the operator yet (is `deployreq run` running against this cluster?)"
            )
        if self.live and self.stream is not None:
            width = shutil.get_terminal_size().columns - 1
            self.stream.write("\r\x1b[K" + text[:width])
            self.stream.flush()
            self._live_shown = True
        elif now - self.last_line >= self.heartbeat:
            stamp = rfc3339(time.time())
            self.emit(f"{stamp}  {text}")
            self.last_line = now

    def _clear_live(self) -> None:
        if self._live_shown and self.stream is not None:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._live_shown = False

    def done(self) -> None:
        self._clear_live()


class _Follower:
    """The state of one ``follow``: the last phase line shown and the latest object seen (for the progress ticks)."""

    def __init__(self, client: kube.Kube, target: Target, deadline: float, progress: Progress) -> None:
        self.client, self.target, self.deadline, self.progress = client, target, deadline, progress
        self.seen: tuple[str, str] | None = None
        self.latest: Obj | None = None

    def show(self, obj: Obj) -> Phase | None:
        status = Request.parse(obj).status
        key = (str(status.phase), str(status.queue_position))
        self.latest = obj
        if answered(obj, self.target) and key != self.seen:
            self.seen = key
            self.progress.phase(obj)
        return outcome(obj, self.target)

    async def ticking(self) -> None:
        while True:
            await asyncio.sleep(min(self.progress.interval, 1.0))
            latest = self.latest
            self.progress.tick(latest, latest is not None and answered(latest, self.target))

    async def run(self) -> int:
        """List, then watch from the list's resourceVersion; list again after a watch error (e.g. 410 Gone)."""
        path = kube.request_path(self.target.namespace)
        selector = f"metadata.name={self.target.name}"
        while True:
            listing = await self.client.get(path, {"fieldSelector": selector})
            items = listing.get("items") or []
            if not items:
                raise errors.NotFound(404, "NotFound", f'deploymentrequest "{self.target.name}" not found')
            done = self.show(items[0])
            if done is not None:
                return exit_code(done)
            params = {
                "fieldSelector": selector,
                "resourceVersion": listing["metadata"]["resourceVersion"],
                "allowWatchBookmarks": "true",
                "timeoutSeconds": str(max(1, int(self.deadline - time.monotonic()))),
            }
            done = await self._watch(path, params)
            if done is not None:
                return exit_code(done)

    async def _watch(self, path: str, params: dict[str, str]) -> Phase | None:
        async for event in self.client.watch(path, params):
            if event.get("type") == "DELETED":
                raise errors.NotFound(404, "NotFound", f'deploymentrequest "{self.target.name}" was deleted')
            if event.get("type") in ("ADDED", "MODIFIED"):
                done = self.show(event["object"])
                if done is not None:
                    return done
            if event.get("type") == "ERROR":
                break
        return None


async def follow(
    client: kube.Kube,
    target: Target,
    wait_seconds: float,
    emit: Callable[[str], None] | Progress,
) -> int:
    """Print phase changes (and progress) until the awaited run ends; the exit code of its outcome (2 on timeout)."""
    progress = emit if isinstance(emit, Progress) else Progress(emit, live=False, heartbeat=float("inf"))
    follower = _Follower(client, target, time.monotonic() + wait_seconds, progress)
    ticker = asyncio.create_task(follower.ticking())
    try:
        return await asyncio.wait_for(follower.run(), max(0.1, wait_seconds))
    except TimeoutError:
        return EXIT_USAGE
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        progress.done()
