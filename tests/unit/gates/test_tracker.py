"""Threshold logic: consecutive counting, phases, inconclusive observations and check timing."""

from __future__ import annotations

import ast
import inspect

import pytest

from deployreq.gates import tracker
from deployreq.gates.tracker import GatePhase, Thresholds

P, F, N = True, False, None  # pass, fail, inconclusive (no data)


@pytest.mark.parametrize(
    "case",
    [
        (1, 3, [], GatePhase.PENDING, 0, 0),
        (1, 3, [P], GatePhase.PASSED, 1, 0),
        (2, 3, [P], GatePhase.PASSING, 1, 0),
        (2, 3, [P, P], GatePhase.PASSED, 2, 0),
        (2, 3, [P, F, P], GatePhase.PASSING, 1, 0),
        (1, 3, [F, F], GatePhase.PENDING, 0, 2),
        (1, 3, [F, F, F], GatePhase.FAILED, 0, 3),
        (1, 3, [F, F, P, F, F], GatePhase.PENDING, 0, 2),
        (1, 1, [F], GatePhase.FAILED, 0, 1),
        (1, 3, [F, F, F, P], GatePhase.FAILED, 0, 3),  # Failed is final
        (1, 3, [N, N, N, N], GatePhase.PENDING, 0, 0),  # inconclusive counts as neither
        (2, 3, [P, N, P], GatePhase.PASSED, 2, 0),  # ... and does not break a streak
        (1, 3, [F, N, F, N, F], GatePhase.FAILED, 0, 3),
        (1, 3, [P, F], GatePhase.PENDING, 0, 1),  # a passed gate that fails again is back to undecided
    ],
)
def test_consecutive_observations_decide_the_phase(
    case: tuple[int, int, list[bool | None], GatePhase, int, int],
) -> None:
    success, failure, observations, phase, successes, failures = case
    th = Thresholds(success=success, failure=failure)
    rec = tracker.start("g", "pre", "http", th, now=0.0)
    for i, passed in enumerate(observations):
        rec = tracker.observe(rec, th, passed=passed, value="v", error="", now=float(i))
    assert (rec.phase, rec.consecutive_successes, rec.consecutive_failures) == (phase, successes, failures)


def test_a_final_failure_fails_the_gate_at_once() -> None:
    th = Thresholds(failure=5)
    rec = tracker.start("g", "pre", "http", th, now=0.0)
    rec = tracker.observe(rec, th, passed=False, value="", error="refused: x", now=1.0, final=True)
    assert rec.phase is GatePhase.FAILED
    assert rec.last_error == "refused: x"


def test_ever_passed_survives_a_later_failure() -> None:
    th = Thresholds()
    rec = tracker.start("g", "post", "pods", th, now=0.0)
    rec = tracker.observe(rec, th, passed=True, value="", error="", now=1.0)
    rec = tracker.observe(rec, th, passed=False, value="", error="bad", now=2.0)
    assert rec.ever_passed and rec.phase is GatePhase.PENDING


def test_first_check_waits_the_initial_delay_and_then_the_interval() -> None:
    th = Thresholds(interval=10, initial_delay=30)
    rec = tracker.start("g", "pre", "http", th, now=100.0)
    assert rec.next_check_at == 130.0
    rec = tracker.observe(rec, th, passed=None, value="", error="", now=131.0)
    assert rec.next_check_at == 141.0


def test_records_are_immutable_and_render_the_status_entry() -> None:
    th = Thresholds()
    start = tracker.start("web", "pre", "http", th, now=0.0)
    after = tracker.observe(start, th, passed=True, value="HTTP 200", error="", now=1_800_000_000.0)
    assert start.phase is GatePhase.PENDING
    assert after.to_status() == {
        "name": "web",
        "stage": "pre",
        "kind": "http",
        "phase": "Passed",
        "consecutiveSuccesses": 1,
        "consecutiveFailures": 0,
        "lastValue": "HTTP 200",
        "lastError": None,
        "lastCheckTime": "2027-01-15T08:00:00Z",
    }
    with pytest.raises(AttributeError):
        after.phase = GatePhase.FAILED  # type: ignore[misc]


def test_only_visible_changes_count_as_changes() -> None:
    th = Thresholds(success=100)
    rec = tracker.start("g", "pre", "http", th, now=0.0)
    a = tracker.observe(rec, th, passed=None, value="x", error="", now=1.0)
    b = tracker.observe(a, th, passed=None, value="x", error="", now=2.0)
    assert tracker.visible_change(rec, a)
    assert not tracker.visible_change(a, b)


def test_the_tracker_is_pure() -> None:
    tree = ast.parse(inspect.getsource(tracker))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"httpx", "kopf", "kubernetes", "aiohttp"}


def test_a_final_failure_is_marked_in_the_status_entry_and_an_ordinary_one_is_not() -> None:
    thresholds = Thresholds(failure=1)
    record = tracker.start("g", "pre", "http", thresholds, 0.0)
    final = tracker.observe(record, thresholds, passed=False, value="", error="refused", now=1.0, final=True)
    assert final.phase is GatePhase.FAILED and final.to_status()["final"] is True
    ordinary = tracker.observe(record, thresholds, passed=False, value="", error="HTTP 503", now=1.0)
    assert ordinary.phase is GatePhase.FAILED and "final" not in ordinary.to_status()
