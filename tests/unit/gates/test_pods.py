"""The pods gate: new pods Ready and restarts within the window under maxRestarts."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from deployreq.gates import build_check
from deployreq.gates.base import Observation
from deployreq.gates.runner import observe_bounded
from tests.unit.gates.fakes import make_env, no_http


def pod(name: str, ready: bool = True, restarts: int = 0, terminating: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": f"uid-{name}"}
    if terminating:
        meta["deletionTimestamp"] = "2027-01-01T00:00:00Z"
    return {
        "metadata": meta,
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"name": "app", "restartCount": restarts}],
        },
    }


class Pods:
    def __init__(self, *pods: dict[str, Any]) -> None:
        self.pods = list(pods)

    def __call__(self) -> list[dict[str, Any]]:
        return self.pods


async def test_ready_pods_without_restarts_pass() -> None:
    env = make_env(no_http, pods=Pods(pod("a"), pod("b")))
    check = build_check({"name": "p", "pods": {}})
    assert await observe_bounded(check, env, 1) == Observation(True, "2/2 ready, 0 restarts")


async def test_restarts_count_from_when_the_gate_started() -> None:
    pods = Pods(pod("a", restarts=4))
    env = make_env(no_http, pods=pods)
    check = build_check({"name": "p", "pods": {"maxRestarts": 1}})
    assert (await observe_bounded(check, env, 1)).passed  # 4 restarts before the gate started
    pods.pods = [pod("a", restarts=5)]
    assert (await observe_bounded(check, env, 1)).passed
    pods.pods = [pod("a", restarts=6)]
    obs = await observe_bounded(check, env, 1)
    assert obs == Observation(False, "1/1 ready, 2 restarts", "pod a restarted 2 times (at most 1 allowed)")


async def test_a_pod_appearing_later_counts_all_its_restarts() -> None:
    pods = Pods(pod("a"))
    env = make_env(no_http, pods=pods)
    check = build_check({"name": "p", "pods": {}})
    assert (await observe_bounded(check, env, 1)).passed
    pods.pods = [pod("a"), pod("b", restarts=1)]
    assert (await observe_bounded(check, env, 1)).error == "pod b restarted 1 times (at most 0 allowed)"


async def test_a_pod_not_ready_fails_and_terminating_pods_are_ignored() -> None:
    env = make_env(no_http, pods=Pods(pod("a"), pod("b", ready=False), pod("old", False, 9, True)))
    check = build_check({"name": "p", "pods": {}})
    assert await observe_bounded(check, env, 1) == Observation(False, "1/2 ready, 0 restarts", "not Ready: b")


async def test_no_new_pods_yet_is_inconclusive() -> None:
    env = make_env(no_http)
    check = build_check({"name": "p", "pods": {}})
    obs = await observe_bounded(check, env, 1)
    assert obs.passed is None and obs.error == "the Deployment has no new pods yet"


async def test_a_slow_pod_listing_times_the_check_out() -> None:
    env = make_env(no_http)

    async def hang() -> list[dict[str, Any]]:
        await asyncio.Event().wait()
        return []

    env = dataclasses.replace(env, new_pods=hang)
    check = build_check({"name": "p", "pods": {}})
    assert await observe_bounded(check, env, 0.05) == Observation(False, "", "timed out after 0.05s")
