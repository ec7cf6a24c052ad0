"""StatefulSets and DaemonSets judged and undone as `kubectl rollout status|undo` do (issue 18's decisions)."""

from __future__ import annotations

from typing import Any

import pytest

from deployreq.decide.rollback import UndoError
from deployreq.decide.rollout import Thresholds
from deployreq.decide.workloads import (
    UnjudgeableWorkload,
    daemonset_progress,
    plan_revision_undo,
    statefulset_progress,
    verdict,
)

Obj = dict[str, Any]
OWNER = {"uid": "u-1", "controller": True}


def sts(replicas: int = 3, partition: int | None = 0, **status: Any) -> Obj:
    strategy: Obj = {"type": "RollingUpdate"}
    if partition is not None:
        strategy["rollingUpdate"] = {"partition": partition}
    return {
        "metadata": {"name": "db", "uid": "u-1", "generation": 2},
        "spec": {
            "replicas": replicas,
            "updateStrategy": strategy,
            "template": {"spec": {"containers": [{"name": "db", "image": "db:2"}]}},
        },
        "status": {"observedGeneration": 2, **status},
    }


def ds(**status: Any) -> Obj:
    return {
        "metadata": {"name": "agent", "uid": "u-1", "generation": 4},
        "spec": {
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {"spec": {"containers": [{"name": "a", "image": "a:2"}]}},
        },
        "status": {"observedGeneration": 4, **status},
    }


def test_statefulset_waits_for_its_spec_to_be_observed_then_for_ready_pods() -> None:
    unobserved = sts(readyReplicas=3)
    unobserved["status"]["observedGeneration"] = 1
    assert statefulset_progress(unobserved) == (
        False,
        "Waiting for statefulset spec update to be observed...",
    )
    assert statefulset_progress(sts(readyReplicas=1)) == (False, "Waiting for 2 pods to be ready...")


def test_statefulset_partition_counts_only_the_replicas_above_it() -> None:
    assert statefulset_progress(sts(partition=1, readyReplicas=3, updatedReplicas=1)) == (
        False,
        "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...",
    )
    assert statefulset_progress(sts(partition=1, readyReplicas=3, updatedReplicas=2))[0] is True


def test_statefulset_without_rolling_update_settings_compares_revisions() -> None:
    moving = sts(
        partition=None, readyReplicas=3, updatedReplicas=1, updateRevision="db-b", currentRevision="db-a"
    )
    assert statefulset_progress(moving) == (
        False,
        "waiting for statefulset rolling update to complete 1 pods at revision db-b...",
    )
    done = sts(
        partition=None, readyReplicas=3, currentReplicas=3, updateRevision="db-b", currentRevision="db-b"
    )
    assert statefulset_progress(done) == (
        True,
        "statefulset rolling update complete 3 pods at revision db-b...",
    )


def test_on_delete_has_no_rollout_status() -> None:
    workload = sts()
    workload["spec"]["updateStrategy"] = {"type": "OnDelete"}
    with pytest.raises(UnjudgeableWorkload, match="only available for RollingUpdate"):
        statefulset_progress(workload)


def test_daemonset_needs_every_scheduled_pod_updated_and_available() -> None:
    assert daemonset_progress(ds(desiredNumberScheduled=3, updatedNumberScheduled=2, numberAvailable=3)) == (
        False,
        'Waiting for daemon set "agent" rollout to finish: 2 out of 3 new pods have been updated...',
    )
    assert daemonset_progress(ds(desiredNumberScheduled=3, updatedNumberScheduled=3, numberAvailable=2)) == (
        False,
        'Waiting for daemon set "agent" rollout to finish: 2 of 3 updated pods are available...',
    )
    assert daemonset_progress(ds(desiredNumberScheduled=3, updatedNumberScheduled=3, numberAvailable=3)) == (
        True,
        'daemon set "agent" successfully rolled out',
    )


def pod(name: str, revision_hash: str, restarts: int) -> Obj:
    return {
        "metadata": {
            "name": name,
            "labels": {"controller-revision-hash": revision_hash},
            "ownerReferences": [OWNER],
        },
        "status": {
            "containerStatuses": [
                {
                    "name": "db",
                    "ready": False,
                    "restartCount": restarts,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                }
            ]
        },
    }


def test_only_pods_of_the_update_revision_fail_a_statefulset_rollout() -> None:
    workload = sts(readyReplicas=2, updateRevision="db-new", currentRevision="db-old")
    judge = {"now": 100.0, "started_at": 90.0, "timeout_seconds": 600.0, "thresholds": Thresholds()}
    old_crashing = [pod("db-0", "db-old", 5)]  # a StatefulSet's pods carry the revision's name
    assert verdict("StatefulSet", workload, old_crashing, [], **judge).state == "Progressing"
    failed = verdict("StatefulSet", workload, [pod("db-2", "db-new", 2)], [], **judge)
    assert (failed.state, failed.reason) == ("Failed", "PodsFailing")
    assert "pod db-2" in failed.message


def revision(number: int, image: str, revision_hash: str) -> Obj:
    template = {"spec": {"containers": [{"name": "a", "image": image}]}, "$patch": "replace"}
    return {
        "metadata": {
            "name": f"agent-{revision_hash}",
            "labels": {"controller-revision-hash": revision_hash},
            "ownerReferences": [OWNER],
        },
        "revision": number,
        "data": {"spec": {"template": template}},
    }


def test_a_daemonset_rollout_is_judged_by_the_newest_revisions_pods() -> None:
    workload = ds(desiredNumberScheduled=3, updatedNumberScheduled=1, numberAvailable=2)
    history = [revision(1, "a:1", "h1"), revision(2, "a:2", "h2")]
    judge = {"now": 100.0, "started_at": 90.0, "timeout_seconds": 600.0, "thresholds": Thresholds()}
    assert verdict("DaemonSet", workload, [pod("agent-x", "h1", 9)], history, **judge).state == "Progressing"
    assert verdict("DaemonSet", workload, [pod("agent-y", "h2", 3)], history, **judge).state == "Failed"
    late = {**judge, "now": 1000.0}
    timed_out = verdict("DaemonSet", workload, [], history, **late)
    assert (timed_out.state, timed_out.reason) == ("Failed", "Timeout")


def test_undo_restores_the_second_highest_revision_as_kubectl_does() -> None:
    history = [revision(3, "a:3", "h3"), revision(1, "a:1", "h1"), revision(2, "a:2", "h2")]
    workload = ds()
    workload["spec"]["template"] = {"spec": {"containers": [{"name": "a", "image": "a:3"}]}}
    plan = plan_revision_undo("DaemonSet", workload, history)
    assert plan.target_revision == 2 and not plan.skipped
    assert plan.patch == history[2]["data"]
    assert plan.message == "daemonset.apps/agent rolled back"
    assert plan_revision_undo("DaemonSet", workload, history, to_revision=1).patch == history[1]["data"]


def test_undo_skips_a_template_that_already_matches() -> None:
    history = [revision(1, "a:1", "h1"), revision(2, "a:2", "h2")]
    workload = ds()
    workload["spec"]["template"] = {"spec": {"containers": [{"name": "a", "image": "a:2"}]}}
    plan = plan_revision_undo("DaemonSet", workload, history, to_revision=2)
    assert plan.skipped and plan.patch is None
    assert plan.message == "skipped rollback (current template already matches revision 2)"


def test_undo_refusals_carry_kubectls_messages() -> None:
    with pytest.raises(UndoError, match="no last revision to roll back to"):
        plan_revision_undo("StatefulSet", sts(), [revision(1, "a:1", "h1")])
    with pytest.raises(UndoError, match="unable to find specified revision 7 in history"):
        plan_revision_undo(
            "StatefulSet", sts(), [revision(1, "a:1", "h1"), revision(2, "a:2", "h2")], to_revision=7
        )
    foreign = revision(1, "a:1", "h1")
    foreign["metadata"]["ownerReferences"] = [{"uid": "other", "controller": True}]
    with pytest.raises(UndoError, match="no last revision"):
        plan_revision_undo("StatefulSet", sts(), [foreign, revision(2, "a:2", "h2")])
