"""Judging a rollout: complete as `kubectl rollout status` says, failed as soon as failure is certain."""

from __future__ import annotations

from typing import Any

import pytest

from deployreq.config import Settings
from deployreq.decide.rollout import Thresholds, Verdict, new_replicaset, verdict

Obj = dict[str, Any]
T = Thresholds()


def template(image: str, hash_: str | None = None) -> Obj:
    labels = {"app": "web"} | ({"pod-template-hash": hash_} if hash_ else {})
    return {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": image}]}}


def deployment(image: str = "img:2", *, replicas: int = 2, generation: int = 2, **status: Any) -> Obj:
    """A Deployment whose status fields default to a finished rollout; ``total`` overrides status.replicas."""
    total = status.pop("total", replicas)
    full_status = {
        "observedGeneration": generation,
        "replicas": total,
        "updatedReplicas": replicas,
        "availableReplicas": replicas,
    } | status
    return {
        "metadata": {"name": "web", "uid": "dep-uid", "generation": generation},
        "spec": {"replicas": replicas, "template": template(image)},
        "status": full_status,
    }


def replicaset(name: str, image: str, created: str = "2027-01-01T00:00:00Z", owner: str = "dep-uid") -> Obj:
    return {
        "metadata": {
            "name": name,
            "uid": f"{name}-uid",
            "creationTimestamp": created,
            "ownerReferences": [{"uid": owner, "controller": True, "kind": "Deployment", "name": "web"}],
        },
        "spec": {"template": template(image, hash_=name[-4:])},
    }


def pod(
    name: str, owner: str = "web-new1-uid", *, reason: str = "", restarts: int = 0, ready: bool = False
) -> Obj:
    state: Obj = {"waiting": {"reason": reason, "message": "back-off"}} if reason else {"running": {}}
    return {
        "metadata": {"name": name, "ownerReferences": [{"uid": owner, "controller": True}]},
        "status": {
            "containerStatuses": [{"name": "app", "state": state, "restartCount": restarts, "ready": ready}]
        },
    }


NEW = replicaset("web-new1", "img:2")


def judge(dep: Obj, pods: list[Obj] | None = None, now: float = 100.0, timeout: float = 600.0) -> Verdict:
    return verdict(dep, NEW, pods or [], now, 50.0, timeout, T)


def test_new_replicaset_ignores_the_hash_label_and_foreign_owners() -> None:
    old = replicaset("web-old1", "img:1")
    foreign = replicaset("web-frgn", "img:2", owner="other-uid")
    assert new_replicaset(deployment(), [old, foreign, NEW]) == NEW
    assert new_replicaset(deployment(), [old, foreign]) is None


def test_new_replicaset_picks_the_oldest_of_equal_templates() -> None:
    young = replicaset("web-aaaa", "img:2", created="2027-01-02T00:00:00Z")
    older = replicaset("web-zzzz", "img:2", created="2027-01-01T00:00:00Z")
    assert new_replicaset(deployment(), [young, older]) == older


@pytest.mark.parametrize(
    ("dep", "state"),
    [
        pytest.param(deployment(), "Complete", id="all updated and available"),
        pytest.param(deployment(observedGeneration=1), "Progressing", id="spec update not yet observed"),
        pytest.param(deployment(updatedReplicas=1), "Progressing", id="not all replicas updated"),
        pytest.param(deployment(total=3), "Progressing", id="old replicas pending termination"),
        pytest.param(deployment(availableReplicas=1), "Progressing", id="updated replicas not yet available"),
    ],
)
def test_complete_exactly_as_kubectl_rollout_status(dep: Obj, state: str) -> None:
    assert judge(dep).state == state


def test_complete_message_matches_kubectl() -> None:
    assert judge(deployment()).message == 'deployment "web" successfully rolled out'


def test_progress_deadline_exceeded_fails() -> None:
    cond = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
    result = judge(deployment(updatedReplicas=1, conditions=[cond]))
    assert (result.state, result.reason) == ("Failed", "ProgressDeadlineExceeded")
    assert result.message == 'deployment "web" exceeded its progress deadline'


def test_timeout_fails_only_after_the_timeout() -> None:
    stuck = deployment(availableReplicas=0)
    assert judge(stuck, now=649.0).state == "Progressing"
    late = judge(stuck, now=651.0)
    assert (late.state, late.reason) == ("Failed", "Timeout")
    assert "600s" in late.message


@pytest.mark.parametrize(
    "reason", ["InvalidImageName", "CreateContainerConfigError", "CreateContainerError", "ErrImageNeverPull"]
)
def test_a_new_pod_that_cannot_start_fails_at_once_naming_pod_container_reason(reason: str) -> None:
    result = judge(deployment(availableReplicas=0), [pod("web-new1-abc", reason=reason)])
    assert result.state == "Failed"
    assert "web-new1-abc" in result.message and '"app"' in result.message and reason in result.message


def started(p: Obj, at: str = "2027-01-01T00:00:00Z") -> Obj:
    p["status"]["startTime"] = at
    return p


START = 1798761600.0  # 2027-01-01T00:00:00Z


def judge_since_start(pods: list[Obj], now: float, thresholds: Thresholds = T) -> Verdict:
    """A rollout started when the pods did (2027-01-01), still within its 600 s timeout."""
    return verdict(deployment(availableReplicas=0), NEW, pods, now, START, 600.0, thresholds)


@pytest.mark.parametrize("reason", ["ErrImagePull", "ImagePullBackOff"])
def test_a_pull_failure_is_transient_until_the_grace_then_fails_naming_it(reason: str) -> None:
    pulling = [started(pod("web-new1-abc", reason=reason))]
    assert judge_since_start(pulling, START + 5).state == "Progressing"
    assert judge_since_start(pulling, START + 59).state == "Progressing"
    failed = judge_since_start(pulling, START + 60)
    assert failed.state == "Failed"
    assert failed.message == (
        f'pod web-new1-abc container "app" has not pulled its image for 60s (limit 60s): {reason}: back-off'
    )


def test_a_grace_of_zero_fails_at_the_first_errimagepull() -> None:
    at_once = Thresholds(image_pull_grace_seconds=0)
    pulling = [started(pod("web-new1-abc", reason="ErrImagePull"))]
    assert judge_since_start(pulling, START, at_once).state == "Failed"


def test_a_pull_that_succeeded_on_a_retry_is_no_failure() -> None:
    running = [started(pod("web-new1-abc"))]
    assert judge_since_start(running, START + 120).state == "Progressing"


def test_the_grace_comes_from_the_operator_settings() -> None:
    settings = Settings(image_pull_grace_seconds=5, crash_restart_threshold=3)
    assert Thresholds.from_settings(settings) == Thresholds(restarts=3, image_pull_grace_seconds=5)


def test_exits_at_the_threshold_fail() -> None:
    dep = deployment(availableReplicas=0)
    assert judge(dep, [pod("p", restarts=1)]).state == "Progressing"  # running again after one exit
    failed = judge(dep, [pod("p", restarts=2)])
    assert failed.state == "Failed" and "exited 2 times (restarts: 2)" in failed.message


def test_crashloopbackoff_below_the_threshold_waits_for_more_exits() -> None:
    dep = deployment(availableReplicas=0)
    patient = Thresholds(restarts=3)
    backing_off = [pod("p", reason="CrashLoopBackOff", restarts=1)]  # the second exit
    assert verdict(dep, NEW, backing_off, 100.0, 50.0, 600, patient).state == "Progressing"
    assert verdict(dep, NEW, backing_off, 100.0, 50.0, 600, T).state == "Failed"


def test_old_replicaset_pods_crashing_do_not_fail_the_new_rollout() -> None:
    crashing_old = pod("web-old1-xyz", owner="web-old1-uid", reason="CrashLoopBackOff")
    assert judge(deployment(availableReplicas=0), [crashing_old]).state == "Progressing"


def test_ordinary_waiting_reasons_are_not_failures() -> None:
    creating = pod("p", reason="ContainerCreating")
    assert judge(deployment(availableReplicas=0), [creating]).state == "Progressing"


def test_a_stale_deadline_condition_is_no_verdict_until_the_new_generation_is_observed() -> None:
    cond = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
    stale = deployment(observedGeneration=1, updatedReplicas=0, conditions=[cond])
    assert judge(stale).state == "Progressing"


def test_complete_waits_for_the_new_replicaset_to_be_seen() -> None:
    assert verdict(deployment(), None, [], 100.0, 50.0, 600.0, T).state == "Progressing"
    assert verdict(deployment(replicas=0), None, [], 100.0, 50.0, 600.0, T).state == "Complete"
