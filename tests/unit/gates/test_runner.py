"""Running a stage: verdicts for pre and post, status publishing, deadlines, cancellation, invalid gates."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from deployreq.api.model import Gate
from deployreq.gates import GateSettings, run_stage, skip_refusal, validate_gates
from tests.unit.gates.fakes import JumpClock, http_gate, make_env, no_http


def ready_pod(name: str = "a", restarts: int = 0) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "uid": name},
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"restartCount": restarts}],
        },
    }


class Updates:
    def __init__(self) -> None:
        self.snapshots: list[list[dict[str, Any]]] = []

    async def __call__(self, statuses: list[dict[str, Any]]) -> None:
        self.snapshots.append(statuses)

    def phases(self, name: str) -> list[str]:
        return [next(s["phase"] for s in snap if s["name"] == name) for snap in self.snapshots]


async def test_pre_stage_passes_when_every_gate_passed() -> None:
    env = make_env(lambda r: httpx.Response(200), pods=lambda: [ready_pod()])
    updates = Updates()
    gates = [
        http_gate("web", url="http://app.example.test/") | {"successThreshold": 2},
        {"name": "pods", "pods": {}},
    ]
    clock = JumpClock()
    result = await run_stage(gates, "pre", env, on_update=updates, clock=clock)
    assert result.passed, result.message
    assert result.message == "all 2 pre gates passed"
    assert [s["phase"] for s in result.statuses()] == ["Passed", "Passed"]
    assert updates.phases("web") == ["Pending", "Passing", "Passing", "Passed"]
    assert result.statuses()[0]["consecutiveSuccesses"] == 2
    assert clock.slept == [10.0]  # the second check of web waited one interval
    await env.clients.aclose()


async def test_pre_stage_fails_at_the_failure_threshold_and_stops_the_other_gates() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(503 if request.url.path == "/bad" else 200)

    env = make_env(handler, pods=list)
    gates = [http_gate("bad", url="http://app.example.test/bad"), {"name": "pods", "pods": {}}]
    result = await run_stage(gates, "pre", env, clock=JumpClock())
    assert not result.passed
    assert result.failed_gate == "bad"
    assert result.message == "pre gate bad failed: status 503, expected [200]"
    assert calls == ["/bad"] * 3
    assert [s["phase"] for s in result.statuses()] == ["Failed", "Pending"]
    await env.clients.aclose()


async def test_pre_stage_with_a_deadline_fails_a_gate_that_never_concluded() -> None:
    env = make_env(no_http, pods=list)  # no new pods: inconclusive for ever
    clock = JumpClock()
    result = await run_stage([{"name": "pods", "pods": {}}], "pre", env, until=clock.now() + 60, clock=clock)
    assert not result.passed
    assert result.message == "pre gate pods did not pass in time"
    await env.clients.aclose()


async def test_post_stage_keeps_checking_until_the_window_ends() -> None:
    env = make_env(no_http, pods=lambda: [ready_pod()])
    clock = JumpClock()
    start = clock.now()
    result = await run_stage([{"name": "pods", "pods": {}}], "post", env, until=start + 60, clock=clock)
    assert result.passed, result.message
    assert result.statuses()[0]["consecutiveSuccesses"] == 6  # checks at 0, 10, ..., 50
    assert clock.now() == start + 50
    await env.clients.aclose()


async def test_post_stage_fails_as_soon_as_a_gate_fails() -> None:
    pods = [ready_pod()]
    clock = JumpClock()
    start = clock.now()

    def current() -> list[dict[str, Any]]:
        if clock.now() >= start + 20:
            pods[0] = ready_pod(restarts=pods[0]["status"]["containerStatuses"][0]["restartCount"] + 1)
        return list(pods)

    env = make_env(no_http, pods=current)
    gate = {"name": "pods", "pods": {}, "failureThreshold": 2}
    result = await run_stage([gate], "post", env, until=start + 600, clock=clock)
    assert not result.passed
    assert result.failed_gate == "pods"
    assert clock.now() == start + 30
    await env.clients.aclose()


async def test_post_stage_fails_a_gate_that_never_passed_in_the_window() -> None:
    env = make_env(no_http, pods=list)
    clock = JumpClock()
    result = await run_stage([{"name": "pods", "pods": {}}], "post", env, until=clock.now() + 30, clock=clock)
    assert not result.passed
    assert result.message == "post gate pods did not pass during the verification window"
    await env.clients.aclose()


async def test_the_first_check_waits_the_initial_delay() -> None:
    env = make_env(no_http, pods=lambda: [ready_pod()])
    clock = JumpClock()
    result = await run_stage([{"name": "p", "pods": {}, "initialDelaySeconds": 45}], "pre", env, clock=clock)
    assert result.passed
    assert clock.slept == [45.0]
    await env.clients.aclose()


async def test_unchanged_status_is_not_published_again() -> None:
    env = make_env(no_http, pods=list)
    clock = JumpClock()
    updates = Updates()
    await run_stage(
        [{"name": "p", "pods": {}}], "pre", env, until=clock.now() + 100, on_update=updates, clock=clock
    )
    assert len(updates.snapshots) == 2  # the initial Pending entry, then the first "no pods" observation
    assert updates.snapshots[1][0]["lastError"] == "the Deployment has no new pods yet"
    await env.clients.aclose()


async def test_cancelling_the_stage_cancels_the_checks_in_flight() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        raise AssertionError("unreachable")

    env = make_env(hang)  # type: ignore[arg-type]
    task = asyncio.create_task(run_stage([http_gate(url="http://app.example.test/")], "pre", env))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled.is_set()
    await env.clients.aclose()


async def test_gates_run_concurrently() -> None:
    inflight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal inflight, peak
        inflight += 1
        peak = max(peak, inflight)
        await asyncio.sleep(0.01)
        inflight -= 1
        return httpx.Response(200)

    env = make_env(handler)  # type: ignore[arg-type]
    gates = [http_gate(f"g{i}", url=f"http://app.example.test/{i}") for i in range(3)]
    assert (await run_stage(gates, "pre", env)).passed
    assert peak == 3
    await env.clients.aclose()


async def test_an_unknown_gate_kind_fails_the_stage_without_checking_anything() -> None:
    env = make_env(no_http)
    updates = Updates()
    result = await run_stage([{"name": "x", "grpc": {"port": 5}}], "pre", env, on_update=updates)
    assert not result.passed
    assert "unknown gate kind 'grpc' (known: http, prometheus, pods, job)" in result.message
    assert updates.snapshots[-1][0]["phase"] == "Failed"
    await env.clients.aclose()


async def test_no_gates_pass_at_once() -> None:
    env = make_env(no_http)
    result = await run_stage([], "post", env, until=1.0)
    assert result.passed and result.message == "no post gates"
    await env.clients.aclose()


def test_validation_reports_every_problem() -> None:
    problems = validate_gates(
        [
            {"name": "a", "http": {"url": "http://x/", "bodyRegex": "("}},
            {"name": "b"},
            {"name": "c", "pods": {}},
            Gate.model_validate({"name": "c", "pods": {}}),
        ]
    )
    assert problems[0].startswith("gate a: bodyRegex does not compile")
    assert problems[1] == "gate b: exactly one of http, prometheus, pods, job must be set"
    assert problems[2] == "gate c: the name is used twice"
    assert len(problems) == 3


def test_skipping_gates_needs_the_operator_flag() -> None:
    assert skip_refusal(False, GateSettings()) is None
    assert "--allow-gate-skip" in (skip_refusal(True, GateSettings()) or "")
    assert skip_refusal(True, GateSettings(allow_skip=True)) is None


async def test_every_check_is_reported_for_metrics() -> None:
    seen: list[tuple[str, str]] = []
    env = make_env(lambda r: httpx.Response(500), pods=list)
    gates = [
        http_gate("web", url="http://app.example.test/") | {"failureThreshold": 1},
        {"name": "p", "pods": {}},
    ]
    await run_stage(gates, "pre", env, clock=JumpClock(), on_check=lambda k, r, s: seen.append((k, r)))
    assert ("http", "fail") in seen
    assert all(r in {"pass", "fail", "inconclusive", "error"} for _, r in seen)
    await env.clients.aclose()


async def test_a_failing_status_write_does_not_change_the_verdict() -> None:
    async def broken(statuses: list[dict[str, Any]]) -> None:
        raise RuntimeError("409 Conflict")

    env = make_env(no_http, pods=lambda: [ready_pod()])
    result = await run_stage([{"name": "p", "pods": {}}], "pre", env, on_update=broken, clock=JumpClock())
    assert result.passed
    await env.clients.aclose()
