"""The phases of a DeploymentRequest and which may follow which."""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    PENDING = "Pending"
    QUEUED = "Queued"
    AWAITING_APPROVAL = "AwaitingApproval"
    """Held by a DeployPolicy until a DeployApproval approves it (issue 19); holds no lock."""
    CHECKING = "Checking"
    DEPLOYING = "Deploying"
    VERIFYING = "Verifying"
    ROLLING_BACK = "RollingBack"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ROLLED_BACK = "RolledBack"
    CANCELLED = "Cancelled"
    SUPERSEDED = "Superseded"


WAITING = frozenset({Phase.PENDING, Phase.QUEUED, Phase.AWAITING_APPROVAL})
ACTIVE = frozenset({Phase.CHECKING, Phase.DEPLOYING, Phase.VERIFYING, Phase.ROLLING_BACK})
TERMINAL = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.ROLLED_BACK, Phase.CANCELLED, Phase.SUPERSEDED})

_NEXT: dict[Phase, frozenset[Phase]] = {
    Phase.PENDING: frozenset(
        {
            Phase.QUEUED,
            Phase.AWAITING_APPROVAL,
            Phase.CHECKING,
            Phase.DEPLOYING,
            Phase.SUPERSEDED,
            Phase.CANCELLED,
            Phase.FAILED,
        }
    ),
    Phase.QUEUED: frozenset(
        {
            Phase.QUEUED,
            Phase.AWAITING_APPROVAL,
            Phase.CHECKING,
            Phase.DEPLOYING,
            Phase.SUPERSEDED,
            Phase.CANCELLED,
            Phase.FAILED,
        }
    ),
    # Approved: queued (the lock is busy) or started; rejected: Cancelled. A new run of it waits again.
    Phase.AWAITING_APPROVAL: frozenset(
        {
            Phase.AWAITING_APPROVAL,
            Phase.QUEUED,
            Phase.CHECKING,
            Phase.DEPLOYING,
            Phase.SUPERSEDED,
            Phase.CANCELLED,
            Phase.FAILED,
        }
    ),
    Phase.CHECKING: frozenset({Phase.DEPLOYING, Phase.QUEUED, Phase.FAILED, Phase.CANCELLED}),
    Phase.DEPLOYING: frozenset(
        {Phase.VERIFYING, Phase.ROLLING_BACK, Phase.SUCCEEDED, Phase.FAILED, Phase.QUEUED, Phase.CANCELLED}
    ),
    Phase.VERIFYING: frozenset({Phase.ROLLING_BACK, Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED}),
    Phase.ROLLING_BACK: frozenset({Phase.ROLLED_BACK, Phase.FAILED, Phase.CANCELLED}),
}


def allowed(current: Phase, following: Phase) -> bool:
    """Whether ``following`` may come after ``current``; a terminal phase is left only for a new run (Queued, or
    AwaitingApproval when a policy holds it)."""
    if current in TERMINAL:
        return following in (Phase.QUEUED, Phase.AWAITING_APPROVAL)
    return following in _NEXT[current]
