"""The operator's verdict over the states a kubelet really shows, step by step (kubesim's state machine, which
follows the kubelet's crash and pull back-offs): when does a crash loop or a pull failure fail the rollout?"""

from __future__ import annotations

from typing import Any

import pytest

from deployreq.decide.rollout import Thresholds, pod_failure
from kubesim.controllers.container_states import Container, Timing

Obj = dict[str, Any]
START = 1798761600.0  # the pod's startTime, 2027-01-01T00:00:00Z


def as_pod(c: Container) -> Obj:
    status = {
        "name": c.name,
        "state": c.state,
        "lastState": c.last_state,
        "restartCount": c.restart_count,
        "ready": c.ready,
    }
    return {
        "metadata": {"name": "web-1"},
        "status": {"startTime": "2027-01-01T00:00:00Z", "containerStatuses": [status]},
    }


def first_failure(
    c: Container, thresholds: Thresholds, timing: Timing, unpullable: Any = lambda image: False
) -> tuple[float, Obj] | None:
    """The kubelet time at which the verdict first fails the pod, with the state it failed on."""
    c.begin(0.0, timing)
    while c.next_at is not None and c.next_at <= 1000:
        now = c.next_at
        c.advance(now, "2027-01-01T00:00:00Z", timing, unpullable, "web-1_ns(uid)")
        if pod_failure([as_pod(c)], thresholds, START + now) is not None:
            return now, dict(c.state)
    return None


CRASH = Timing(pull=0.0, ready=5.0, crash_after=2.0)


@pytest.mark.parametrize(
    ("threshold", "at", "shown"),
    [
        (1, 2.0, "terminated"),  # the first exit
        (2, 5.0, "waiting"),  # the second exit: CrashLoopBackOff, as the kubelet concludes
        (3, 17.0, "waiting"),  # after a 10 s back-off, the third exit
    ],
)
def test_a_crash_loop_fails_at_the_exit_the_threshold_names(threshold: int, at: float, shown: str) -> None:
    found = first_failure(Container("app", "bad:1", crash_loops=True), Thresholds(restarts=threshold), CRASH)
    assert found is not None
    assert found[0] == at and shown in found[1]


def test_a_container_that_crashed_once_and_then_runs_is_no_failure() -> None:
    c = Container("app", "flaky:1", crash_loops=True)
    c.begin(0.0, CRASH)
    while c.restart_count < 1 and c.next_at is not None:  # pulled, started, exited, restarted
        c.advance(c.next_at, "t", CRASH, lambda i: False, "p")
    c.crash_loops = False  # the second run holds
    assert pod_failure([as_pod(c)], Thresholds(), START + 10) is None


PULL = Timing(pull=0.5, ready=1.0, crash_after=0.0)


@pytest.mark.parametrize(("grace", "at"), [(0, 0.5), (30, 30.5), (60, 70.5)])
def test_a_persisting_pull_failure_fails_at_the_first_kubelet_report_after_the_grace(
    grace: float, at: float
) -> None:
    found = first_failure(
        Container("app", "ghost:1", crash_loops=False),
        Thresholds(image_pull_grace_seconds=grace),
        PULL,
        lambda i: True,
    )
    assert found is not None and found[0] == at


def test_a_pull_that_fails_once_and_then_succeeds_never_fails_the_rollout() -> None:
    attempts: list[str] = []

    def once(image: str) -> bool:
        attempts.append(image)
        return len(attempts) == 1

    assert first_failure(Container("app", "flaky:1", crash_loops=False), Thresholds(), PULL, once) is None
    assert len(attempts) == 2
