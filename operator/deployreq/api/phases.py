"""The phases of a DeploymentRequest and which may follow which."""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    PENDING = "Pending"
    QUEUED = "Queued"
    CHECKING = "Checking"
    DEPLOYING = "Deploying"
    VERIFYING = "Verifying"
    ROLLING_BACK = "RollingBack"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ROLLED_BACK = "RolledBack"
    CANCELLED = "Cancelled"
    SUPERSEDED = "Superseded"


WAITING = frozenset({Phase.PENDING, Phase.QUEUED})
ACTIVE = frozenset({Phase.CHECKING, Phase.DEPLOYING, Phase.VERIFYING, Phase.ROLLING_BACK})
TERMINAL = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.ROLLED_BACK, Phase.CANCELLED, Phase.SUPERSEDED})

_NEXT: dict[Phase, frozenset[Phase]] = {
    Phase.PENDING: frozenset(
        {Phase.QUEUED, Phase.CHECKING, Phase.DEPLOYING, Phase.SUPERSEDED, Phase.CANCELLED}
    ),
    Phase.QUEUED: frozenset(
        {Phase.QUEUED, Phase.CHECKING, Phase.DEPLOYING, Phase.SUPERSEDED, Phase.CANCELLED, Phase.FAILED}
    ),
    Phase.CHECKING: frozenset({Phase.DEPLOYING, Phase.QUEUED, Phase.FAILED, Phase.CANCELLED}),
    Phase.DEPLOYING: frozenset(
        {Phase.VERIFYING, Phase.ROLLING_BACK, Phase.SUCCEEDED, Phase.FAILED, Phase.QUEUED, Phase.CANCELLED}
    ),
    Phase.VERIFYING: frozenset({Phase.ROLLING_BACK, Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED}),
    Phase.ROLLING_BACK: frozenset({Phase.ROLLED_BACK, Phase.FAILED, Phase.CANCELLED}),
}


def allowed(current: Phase, following: Phase) -> bool:
    """Whether ``following`` may come after ``current``; a terminal phase is left only for a new run (Queued)."""
    if current in TERMINAL:
        return following == Phase.QUEUED
    return following in _NEXT[current]
