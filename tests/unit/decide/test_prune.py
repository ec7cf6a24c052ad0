"""Pruning finished requests: age and count limits, and what is never deleted."""

from __future__ import annotations

from typing import Any

from deployreq.api.request import Request
from deployreq.api.times import rfc3339_ms
from deployreq.decide.prune import plan

T0 = 1_800_000_000.0
DAY = 86400.0


def req(
    name: str,
    phase: str = "Failed",
    ended: float = 0.0,
    deployment: str = "web",
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    finalizers: list[str] | None = None,
    generation: int = 1,
) -> Request:
    body: dict[str, Any] = {
        "metadata": {
            "name": name,
            "namespace": "a",
            "uid": f"uid-{name}",
            "generation": generation,
            "creationTimestamp": rfc3339_ms(T0 + ended - 5),
            "labels": labels or {},
            "annotations": annotations or {},
            "finalizers": finalizers or [],
        },
        "spec": {"deployment": deployment},
        "status": {"phase": phase, "completedAt": rfc3339_ms(T0 + ended), "observedGeneration": 1},
    }
    return Request.parse(body)


def names(requests: tuple[Request, ...]) -> list[str]:
    return [r.name for r in requests]


def test_the_newest_n_are_kept_and_the_rest_deleted_oldest_first() -> None:
    reqs = [req(f"r{i}", ended=i) for i in range(5)]
    decision = plan(reqs, T0 + 10, max_age_seconds=0, keep=2)
    assert names(decision.delete) == ["r0", "r1", "r2"]
    assert decision.next_at is None


def test_requests_older_than_the_age_limit_are_deleted_and_the_next_expiry_is_returned() -> None:
    reqs = [req("old", ended=0), req("young", ended=5 * DAY)]
    decision = plan(reqs, T0 + 7 * DAY, max_age_seconds=6 * DAY, keep=0)
    assert names(decision.delete) == ["old"]
    assert decision.next_at == T0 + 11 * DAY


def test_zero_limits_delete_nothing() -> None:
    reqs = [req(f"r{i}", ended=i) for i in range(5)]
    assert plan(reqs, T0 + 1000 * DAY, 0, 0).delete == ()


def test_the_two_newest_successes_of_each_workload_survive_any_limit() -> None:
    reqs = [
        req("ok-old", "Succeeded", ended=1),
        req("ok-mid", "Succeeded", ended=2),
        req("ok-new", "Succeeded", ended=3),
        req("api-ok", "Succeeded", ended=0, deployment="api"),
        req("bad", "RolledBack", ended=4),
    ]
    decision = plan(reqs, T0 + 100 * DAY, max_age_seconds=DAY, keep=1)
    assert names(decision.delete) == ["ok-old", "bad"]


def test_unfinished_rerun_finalized_and_git_managed_requests_are_never_deleted() -> None:
    reqs = [
        req("active", "Deploying", ended=0),
        req("waiting", "Queued", ended=0),
        req("rerun", ended=0, annotations={"deployreq.dev/rerun": "2"}),
        req("changed", ended=0, generation=2),
        req("holding", ended=0, finalizers=["deployreq.dev/rollback-on-delete"]),
        req("argocd", ended=0, labels={"app.kubernetes.io/instance": "shop"}),
        req("tracked", ended=0, annotations={"argocd.argoproj.io/tracking-id": "shop:x"}),
        req("flux", ended=0, labels={"kustomize.toolkit.fluxcd.io/name": "apps"}),
        req("keep", ended=0, annotations={"deployreq.dev/keep": "true"}),
        req("plain", ended=0),
    ]
    decision = plan(reqs, T0 + 100 * DAY, max_age_seconds=DAY, keep=1)
    assert names(decision.delete) == ["plain"]


def test_the_same_requests_give_the_same_plan_after_a_restart() -> None:
    reqs = [req(f"r{i}", ended=i * DAY) for i in range(6)]
    first = plan(reqs, T0 + 8 * DAY, max_age_seconds=5 * DAY, keep=4)
    again = plan(list(reversed(reqs)), T0 + 8 * DAY, max_age_seconds=5 * DAY, keep=4)
    assert names(first.delete) == names(again.delete) == ["r0", "r1", "r2", "r3"]
    assert first.next_at == again.next_at == T0 + 9 * DAY
