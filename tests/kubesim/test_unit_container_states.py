"""The kubelet's state sequences, stepped one transition at a time on a fake clock."""

from __future__ import annotations

from typing import Any

import pytest

from kubesim.controllers.container_states import Container, Timing, back_off, pod_phase

Obj = dict[str, Any]
POD = "web-1_shop(uid-1)"


def run(c: Container, timing: Timing, until: float, unpullable: Any = lambda image: False) -> list[Obj]:
    """Every state the container shows up to ``until``: (time, reason, restartCount, ready, lastState reason)."""
    seen: list[Obj] = []
    c.begin(0.0, timing)
    while c.next_at is not None and c.next_at <= until:
        now = c.next_at
        c.advance(now, f"t={now:g}", timing, unpullable, POD)
        (kind, detail), *_ = c.state.items()
        seen.append(
            {
                "at": round(now, 6),
                "state": detail.get("reason", kind),
                "restarts": c.restart_count,
                "ready": c.ready,
                "last": (c.last_state.get("terminated") or {}).get("reason"),
                "message": detail.get("message", ""),
            }
        )
    return seen


def test_back_off_is_10s_doubling_to_5_minutes() -> None:
    assert [back_off(n) for n in range(1, 8)] == [10, 20, 40, 80, 160, 300, 300]


def test_a_crash_shows_terminated_then_a_restart_at_once_then_crashloopbackoff_with_doubling_back_off() -> (
    None
):
    timing = Timing(pull=0.0, ready=5.0, crash_after=2.0)
    seen = run(Container("app", "bad:1", crash_loops=True), timing, until=200)
    states = [(s["at"], s["state"], s["restarts"], s["last"]) for s in seen]
    assert states[:9] == [
        (0.0, "running", 0, None),  # pulled, started
        (2.0, "Error", 0, None),  # first exit: terminated (reason Error), no back-off yet
        (3.0, "running", 1, "Error"),  # restarted at the next sync, the exit in lastState
        (5.0, "CrashLoopBackOff", 1, "Error"),  # second exit: back-off 10 s
        (15.0, "running", 2, "Error"),
        (17.0, "CrashLoopBackOff", 2, "Error"),  # back-off 20 s
        (37.0, "running", 3, "Error"),
        (39.0, "CrashLoopBackOff", 3, "Error"),  # back-off 40 s
        (79.0, "running", 4, "Error"),
    ]
    messages = [s["message"] for s in seen if s["state"] == "CrashLoopBackOff"]
    assert messages[:3] == [f"back-off {n}s restarting failed container=app pod={POD}" for n in (10, 20, 40)]
    assert not any(s["ready"] for s in seen)  # it crashes before its readiness delay is over


def test_the_first_exit_is_terminated_with_a_nonzero_exit_code() -> None:
    c = Container("app", "bad:1", crash_loops=True)
    timing = Timing(pull=0.0, ready=5.0, crash_after=2.0)
    run(c, timing, until=2.0)
    assert c.state["terminated"]["exitCode"] == 1 and c.state["terminated"]["reason"] == "Error"
    assert c.restart_count == 0 and c.last_state == {} and not c.started


def test_back_offs_are_capped_at_5_minutes() -> None:
    seen = run(Container("app", "bad:1", crash_loops=True), Timing(0.0, 5.0, 1.0), until=3000)
    messages = [s["message"].split()[1] for s in seen if s["state"] == "CrashLoopBackOff"]
    assert messages[:7] == ["10s", "20s", "40s", "80s", "160s", "300s", "300s"]


def test_a_container_that_crashes_after_its_readiness_was_ready_until_then() -> None:
    seen = run(Container("app", "late:1", crash_loops=True), Timing(0.0, 1.0, 30.0), until=31)
    assert [(s["at"], s["state"], s["ready"]) for s in seen] == [
        (0.0, "running", False),
        (1.0, "running", True),
        (30.0, "Error", False),
        (31.0, "running", False),
    ]


def test_the_time_scale_shrinks_every_delay_by_the_same_factor() -> None:
    real = run(Container("app", "bad:1", crash_loops=True), Timing(0.0, 5.0, 2.0), until=100)
    fast = run(Container("app", "bad:1", crash_loops=True), Timing(0.0, 0.05, 0.02, scale=0.01), until=1)
    assert [s["at"] * 0.01 for s in real[:8]] == pytest.approx([s["at"] for s in fast[:8]])
    assert [s["message"] for s in real[:8]] == [s["message"] for s in fast[:8]]  # messages stay unscaled


def test_restart_policy_never_leaves_the_container_terminated() -> None:
    c = Container("app", "bad:1", crash_loops=True, restart=False)
    seen = run(c, Timing(0.0, 5.0, 2.0), until=100)
    assert [s["state"] for s in seen] == ["running", "Error"]
    assert c.next_at is None and pod_phase([c]) == "Failed"


def test_an_unpullable_image_shows_errimagepull_then_imagepullbackoff_and_is_retried_on_the_back_off() -> (
    None
):
    seen = run(Container("app", "ghost:1", crash_loops=False), Timing(0.5, 1.0, 0.0), 100, lambda i: True)
    assert [(s["at"], s["state"]) for s in seen] == [
        (0.5, "ErrImagePull"),  # the first pull failed
        (1.5, "ImagePullBackOff"),  # the next sync: backing off 10 s
        (10.5, "ErrImagePull"),  # retried 10 s after the failure
        (11.5, "ImagePullBackOff"),  # 20 s
        (30.5, "ErrImagePull"),
        (31.5, "ImagePullBackOff"),  # 40 s
        (70.5, "ErrImagePull"),
        (71.5, "ImagePullBackOff"),
    ]
    assert seen[1]["message"] == 'Back-off pulling image "ghost:1"'
    assert all(s["restarts"] == 0 for s in seen)


def test_a_pull_that_fails_once_succeeds_on_the_retry() -> None:
    attempts: list[str] = []

    def fails_once(image: str) -> bool:
        attempts.append(image)
        return len(attempts) == 1

    c = Container("app", "flaky:1", crash_loops=False)
    seen = run(c, Timing(0.5, 1.0, 0.0), 100, fails_once)
    assert [(s["at"], s["state"], s["ready"]) for s in seen] == [
        (0.5, "ErrImagePull", False),
        (1.5, "ImagePullBackOff", False),
        (10.5, "running", False),
        (11.5, "running", True),
    ]
    assert pod_phase([c]) == "Running" and c.restart_count == 0


def test_a_pod_is_pending_until_every_container_started() -> None:
    ok = Container("side", "ok:1", crash_loops=False)
    ghost = Container("app", "ghost:1", crash_loops=False)
    run(ok, Timing(0.0, 1.0, 0.0), 10)
    run(ghost, Timing(0.0, 1.0, 0.0), 10, lambda i: True)
    assert pod_phase([ok, ghost]) == "Pending"
    crash = Container("app", "bad:1", crash_loops=True)
    run(crash, Timing(0.0, 1.0, 0.5), 2)
    assert pod_phase([ok, crash]) == "Running"


def test_a_healthy_container_runs_then_turns_ready_and_stops_changing() -> None:
    c = Container("app", "ok:1", crash_loops=False)
    seen = run(c, Timing(0.2, 1.0, 0.0), 100)
    assert [(s["at"], s["state"], s["ready"]) for s in seen] == [
        (0.2, "running", False),
        (1.2, "running", True),
    ]
    assert c.next_at is None
