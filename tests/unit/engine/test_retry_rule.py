"""Which failures are retried: only those waiting can cure (docs/architecture.md, "What is retried")."""

from __future__ import annotations

from typing import Any

from deployreq.api.phases import Phase
from deployreq.decide import progress, steps
from deployreq.decide.retry import retry_message
from tests.unit.decide.test_progress import NOW, T, deployment, edited, request


def gated(phase: str, gate_status: dict[str, Any] | None, threshold: int | None = None, **status: Any) -> Any:
    req = request(phase, **status)
    gate: dict[str, Any] = {"name": "smoke", "http": {"url": "http://169.254.169.254/"}}
    if threshold is not None:
        gate["failureThreshold"] = threshold
    req = edited(req, spec={"gates": {"pre": [gate]}})
    if gate_status is not None:
        req = edited(
            req, status={"gates": [{"name": "smoke", "stage": "pre", "kind": "http", **gate_status}]}
        )
    return req


FAILED_AT_ONCE = {
    "phase": "Failed",
    "consecutiveFailures": 1,
    "lastError": "refused: 169.254.169.254 is a cloud metadata address",
    "final": True,
}
FAILED_THREE_TIMES = {"phase": "Failed", "consecutiveFailures": 3, "lastError": "HTTP 503"}


def test_a_gate_that_failed_for_a_final_cause_ends_the_request_failed_at_once() -> None:
    req = gated("Checking", FAILED_AT_ONCE, attempt=1)
    world = steps.World(deployment(), pre_gates=steps.GateOutcome(False, "pre gate smoke failed: refused"))
    step = progress.next_step(req, world, NOW, T)
    assert isinstance(step, steps.Finish)
    assert (step.phase, step.reason) == (Phase.FAILED, "GateFailed")
    assert "gate smoke: refused: 169.254.169.254 is a cloud metadata address" in step.message
    assert "Retrying cannot change this" in step.message


def test_a_gate_that_failed_its_threshold_is_retried_with_backoff() -> None:
    req = gated("Checking", FAILED_THREE_TIMES, attempt=2)
    world = steps.World(deployment(), pre_gates=steps.GateOutcome(False, "pre gate smoke failed: HTTP 503"))
    step = progress.next_step(req, world, NOW, T)
    assert step == steps.Requeue("Pre-deploy gates failed: pre gate smoke failed: HTTP 503", NOW + 20, 2, 4)


def test_a_gate_that_did_not_pass_in_time_is_retried() -> None:
    req = gated("Checking", {"phase": "Pending", "consecutiveFailures": 0}, attempt=1)
    world = steps.World(
        deployment(), pre_gates=steps.GateOutcome(False, "pre gate smoke did not pass in time")
    )
    assert isinstance(progress.next_step(req, world, NOW, T), steps.Requeue)


def test_a_final_failure_ends_at_once_whatever_the_failure_threshold() -> None:
    """With failureThreshold 1 a final error and an ordinary failure look alike by their counts: the runner's
    ``final`` mark decides, not the threshold."""
    final = gated("Checking", FAILED_AT_ONCE, threshold=1, attempt=1)
    world = steps.World(deployment(), pre_gates=steps.GateOutcome(False, "x"))
    assert isinstance(progress.next_step(final, world, NOW, T), steps.Finish)
    ordinary = gated("Checking", {**FAILED_THREE_TIMES, "consecutiveFailures": 1}, threshold=1, attempt=1)
    assert isinstance(progress.next_step(ordinary, world, NOW, T), steps.Requeue)


def test_a_missing_deployment_waits_for_it_and_says_so() -> None:
    step = progress.next_step(request("Deploying", attempt=1), steps.World(None), NOW, T)
    assert isinstance(step, steps.Requeue)
    assert (step.attempt, step.attempts, step.at) == (1, 4, NOW + 10)
    assert "may not be created or synced yet" in step.message


def test_giving_up_after_one_attempt_is_said_in_the_singular() -> None:
    req = edited(request("Deploying", attempt=1), spec={"retry": {"attempts": 0}})
    step = progress.next_step(req, steps.World(None), NOW, T)
    assert isinstance(step, steps.Finish)
    assert step.message.endswith("(gave up after 1 attempt)")
    req = edited(req, status={"attempt": 2}, spec={"retry": {"attempts": 1}})
    step = progress.next_step(req, steps.World(None), NOW, T)
    assert isinstance(step, steps.Finish) and step.message.endswith("(gave up after 2 attempts)")


def test_the_waiting_message_says_why_which_attempt_and_when() -> None:
    text = retry_message('Deployment "web" not found.', 1, 4, NOW + 10, position=1)
    assert text == (
        'Waiting to retry: Deployment "web" not found. Attempt 1 of 4 failed; attempt 2 starts at '
        "2027-01-15T08:00:10Z. Position 1 in the queue of its namespace."
    )
