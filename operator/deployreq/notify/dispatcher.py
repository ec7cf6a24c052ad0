"""Queues terminal events and sends them from a background task, so a slow or dead receiver delays nothing."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable

from deployreq.api.phases import Phase
from deployreq.api.request import Request
from deployreq.notify.event import Event, Notifier

log = logging.getLogger(__name__)

TERMINAL = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.ROLLED_BACK})


class Dispatcher:
    """A bounded queue (drops the oldest when full) drained by one task with bounded, exponential retries."""

    def __init__(
        self,
        notifier: Notifier,
        *,
        max_queue: int = 100,
        attempts: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._notifier = notifier
        self._queue: collections.deque[Event] = collections.deque(maxlen=max(1, max_queue))
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._sleep = sleep
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.dropped = 0
        self.failed = 0

    def observe(self, namespace: str, req: Request, phase: Phase) -> None:
        """The worker observer: enqueue terminal phases and return at once (never awaits the receiver)."""
        if phase not in TERMINAL:
            return
        event = Event.of(namespace, req, phase)
        if len(self._queue) == self._queue.maxlen:
            old = self._queue[0]
            self.dropped += 1
            log.warning("notification queue full: dropping %s of %s/%s", old.phase, old.namespace, old.name)
        self._queue.append(event)
        self._wake.set()

    def start(self) -> None:
        """Start the sender task on the running loop (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="deployreq-notify")

    async def stop(self) -> None:
        """Cancel the sender; queued events not yet sent are lost (they are logged on drop only)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def drain(self) -> None:
        """Send everything queued now, in this task (for tests and shutdown)."""
        while self._queue:
            await self._deliver(self._queue.popleft())

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.drain()

    async def _deliver(self, event: Event) -> None:
        delay = self._backoff
        for attempt in range(1, self._attempts + 1):
            try:
                await self._notifier.send(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure of the receiver is retried, then logged
                if attempt == self._attempts:
                    self.failed += 1
                    log.warning(
                        "notification of %s/%s %s not delivered after %d attempts: %s",
                        event.namespace,
                        event.name,
                        event.phase,
                        attempt,
                        exc,
                    )
                    return
                await self._sleep(delay)
                delay = min(delay * 2, self._max_backoff)
            else:
                self.sent += 1
                return
