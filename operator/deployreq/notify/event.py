"""What a notification carries, and the one protocol every notifier implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from deployreq.api.phases import Phase
from deployreq.api.request import Request


@dataclass(frozen=True)
class Event:
    """A request that reached a terminal phase; a snapshot, so later changes to the request do not leak in."""

    namespace: str
    name: str
    deployment: str
    phase: Phase
    message: str
    images: dict[str, str]
    generation: int

    @classmethod
    def of(cls, namespace: str, req: Request, phase: Phase) -> Event:
        return cls(
            namespace=namespace,
            name=req.name,
            deployment=req.deployment,
            phase=phase,
            message=req.status.message or "",
            images=dict(req.spec_images),
            generation=req.generation,
        )


class Notifier(Protocol):
    """Delivers one event; raises on any failure so the dispatcher can retry."""

    async def send(self, event: Event) -> None: ...
