"""Which phase may follow which."""

from __future__ import annotations

import pytest

from deployreq.api.phases import ACTIVE, TERMINAL, WAITING, Phase, allowed


def test_every_phase_is_in_exactly_one_group() -> None:
    assert set(Phase) == WAITING | ACTIVE | TERMINAL
    assert not (WAITING & ACTIVE) and not (WAITING & TERMINAL) and not (ACTIVE & TERMINAL)


@pytest.mark.parametrize(
    ("current", "following", "ok"),
    [
        (Phase.PENDING, Phase.QUEUED, True),
        (Phase.QUEUED, Phase.CHECKING, True),
        (Phase.QUEUED, Phase.SUPERSEDED, True),
        (Phase.CHECKING, Phase.DEPLOYING, True),
        (Phase.DEPLOYING, Phase.VERIFYING, True),
        (Phase.VERIFYING, Phase.SUCCEEDED, True),
        (Phase.VERIFYING, Phase.ROLLING_BACK, True),
        (Phase.ROLLING_BACK, Phase.ROLLED_BACK, True),
        (Phase.DEPLOYING, Phase.CANCELLED, True),
        (Phase.SUCCEEDED, Phase.QUEUED, True),
        (Phase.SUCCEEDED, Phase.DEPLOYING, False),
        (Phase.FAILED, Phase.ROLLING_BACK, False),
        (Phase.VERIFYING, Phase.SUPERSEDED, False),
        (Phase.ROLLING_BACK, Phase.SUCCEEDED, False),
        (Phase.PENDING, Phase.ROLLED_BACK, False),
    ],
    ids=str,
)
def test_transitions(current: Phase, following: Phase, ok: bool) -> None:
    assert allowed(current, following) is ok


def test_a_started_request_is_never_superseded() -> None:
    assert not any(allowed(p, Phase.SUPERSEDED) for p in ACTIVE)
