"""The pure decisions of kubesim's scheduler and its StatefulSet, DaemonSet and Job controllers."""

from __future__ import annotations

from typing import Any

from kubesim.controllers import daemonset_math as dsm
from kubesim.controllers import job_math as jm
from kubesim.controllers import statefulset_math as sm
from kubesim.controllers.revisions import go_json, patch_data, revision_hash
from kubesim.controllers.scheduler import choose_node

Obj = dict[str, Any]
READY = {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}


def node(name: str, **labels: str) -> Obj:
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **labels}},
        "spec": {},
        "status": {"conditions": [READY]},
    }


NODES = [node("a"), node("b", disk="ssd"), node("c")]


def pod(name: str, phase: str = "Running", ready: bool = True, **labels: str) -> Obj:
    return {
        "metadata": {"name": name, "labels": labels, "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {},
        "status": {"phase": phase, "conditions": [READY] if ready else []},
    }


TEMPLATE = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {
        "containers": [
            {
                "name": "app",
                "image": "registry.example/web:1",
                "imagePullPolicy": "IfNotPresent",
                "resources": {},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
            }
        ],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "securityContext": {},
        "schedulerName": "default-scheduler",
    },
}


def test_a_revision_is_named_as_kube_controller_manager_names_it() -> None:
    # v1.36 named the revision of this template web-76744449df (FNV-1 of the patch's bytes and the collision count)
    data = patch_data({"spec": {"template": TEMPLATE}})
    assert go_json(data).startswith(
        b'{"spec":{"template":{"$patch":"replace","metadata":{"labels":{"app":"web"}}'
    )
    assert revision_hash(data, 0) == "76744449df"
    assert revision_hash(data, 1) != "76744449df"


def test_go_json_escapes_html_characters_as_encoding_json_does() -> None:
    assert go_json({"b": "<a&b>", "a": 1}) == b'{"a":1,"b":"\\u003ca\\u0026b\\u003e"}'


def test_the_scheduler_spreads_pods_and_honours_selectors_and_affinity() -> None:
    assert choose_node({"spec": {}}, NODES, {}) == "a"
    assert choose_node({"spec": {}}, NODES, {"a": 1}) == "b"
    assert choose_node({"spec": {}}, NODES, {"a": 1, "b": 1}) == "c"
    assert choose_node({"spec": {"nodeSelector": {"disk": "ssd"}}}, NODES, {"b": 5}) == "b"
    assert choose_node({"spec": {"nodeSelector": {"disk": "hdd"}}}, NODES, {}) is None
    pinned = dsm.daemon_pod_spec({}, "c")
    assert choose_node({"spec": pinned}, NODES, {"c": 9}) == "c"
    tainted = {**node("t"), "spec": {"taints": [{"key": "x", "effect": "NoSchedule"}]}}
    assert choose_node({"spec": {}}, [tainted], {}) is None
    assert choose_node({"spec": {"tolerations": [{"operator": "Exists"}]}}, [tainted], {}) == "t"


def sts(replicas: int = 3, partition: int = 0, policy: str = "OrderedReady") -> Obj:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"partition": partition}}
    spec = {"replicas": replicas, "podManagementPolicy": policy, "updateStrategy": strategy}
    return {"metadata": {"name": "web", "generation": 2}, "spec": spec, "status": {}}


def at(revision: str, name: str, **kw: Any) -> Obj:
    return pod(name, **kw, **{sm.REVISION_LABEL: revision})


def test_ordered_ready_creates_one_pod_at_a_time_lowest_first() -> None:
    assert sm.next_actions(sts(), {}, "r1", "r1") == [sm.Action("create", 0, revision="r1")]
    pods = {0: at("r1", "web-0", ready=False)}
    assert sm.next_actions(sts(), pods, "r1", "r1") == []
    pods = {0: at("r1", "web-0")}
    assert sm.next_actions(sts(), pods, "r1", "r1") == [sm.Action("create", 1, revision="r1")]
    assert len(sm.next_actions(sts(policy="Parallel"), {}, "r1", "r1")) == 3


def test_a_rolling_update_replaces_the_highest_outdated_pod_down_to_the_partition() -> None:
    pods = {i: at("r1", f"web-{i}") for i in range(3)}
    assert sm.next_actions(sts(), pods, "r1", "r2") == [sm.Action("delete", 2, pod="web-2")]
    pods[2] = at("r2", "web-2")
    assert sm.next_actions(sts(), pods, "r1", "r2") == [sm.Action("delete", 1, pod="web-1")]
    assert sm.next_actions(sts(partition=2), pods, "r1", "r2") == []
    # a pod recreated below the partition keeps the current revision
    del pods[0]
    assert sm.next_actions(sts(partition=2), pods, "r1", "r2") == [sm.Action("create", 0, revision="r1")]


def test_scaling_down_removes_the_highest_ordinal_first() -> None:
    pods = {i: at("r1", f"web-{i}") for i in range(3)}
    assert sm.next_actions(sts(replicas=1), pods, "r1", "r1") == [sm.Action("delete", 2, pod="web-2")]


def test_the_status_completes_the_rollout_once_every_pod_is_updated_and_ready() -> None:
    pods = [at("r2", f"web-{i}") for i in range(2)] + [at("r1", "web-2")]
    status = sm.status(sts(), pods, "r1", "r2", 0, now=1e10)
    assert (status["currentRevision"], status["updateRevision"], status["updatedReplicas"]) == ("r1", "r2", 2)
    assert (
        status["currentReplicas"] == 1 and status["readyReplicas"] == 3 and status["availableReplicas"] == 3
    )
    pods[2] = at("r2", "web-2")
    status = sm.status(sts(), pods, "r1", "r2", 0, now=1e10)
    assert status["currentRevision"] == "r2" and status["currentReplicas"] == 3
    assert list(status) == [
        "observedGeneration",
        "replicas",
        "readyReplicas",
        "currentReplicas",
        "updatedReplicas",
        "currentRevision",
        "updateRevision",
        "collisionCount",
        "availableReplicas",
    ]


def ds(max_unavailable: Any = 1, max_surge: Any = 0) -> Obj:
    rolling = {"maxUnavailable": max_unavailable, "maxSurge": max_surge}
    spec = {"template": {"spec": {}}, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": rolling}}
    return {"metadata": {"name": "agent", "generation": 1}, "spec": spec}


def on(node_name: str, digest: str, **kw: Any) -> Obj:
    p = pod(f"agent-{node_name}-{digest}", **kw, **{dsm.HASH_LABEL: digest})
    p["spec"]["nodeName"] = node_name
    return p


def test_a_daemonset_wants_one_pod_per_node_and_removes_misscheduled_ones() -> None:
    assert dsm.plan(ds(), NODES, [], "h1", 1e10) == (["a", "b", "c"], [])
    stray = on("gone", "h1")
    assert dsm.plan(ds(), NODES, [on("a", "h1"), stray], "h1", 1e10) == (
        ["b", "c"],
        [stray["metadata"]["name"]],
    )
    selective = ds()
    selective["spec"]["template"]["spec"]["nodeSelector"] = {"disk": "ssd"}
    assert dsm.plan(selective, NODES, [], "h1", 1e10) == (["b"], [])


def test_a_rolling_update_deletes_old_pods_within_max_unavailable() -> None:
    pods = [on(n, "h1") for n in "abc"]
    create, delete = dsm.plan(ds(), NODES, pods, "h2", 1e10)
    assert create == [] and delete == ["agent-a-h1"]
    pods = [on("a", "h2", ready=False), on("b", "h1"), on("c", "h1")]
    assert dsm.plan(ds(), NODES, pods, "h2", 1e10) == ([], [])  # the new pod is not available yet
    assert dsm.plan(ds(max_unavailable="100%"), NODES, [on(n, "h1") for n in "abc"], "h2", 1e10)[1] == [
        "agent-a-h1",
        "agent-b-h1",
        "agent-c-h1",
    ]
    unhealthy = [on("a", "h1", ready=False), on("b", "h2", ready=False), on("c", "h1")]
    assert dsm.plan(ds(), NODES, unhealthy, "h2", 1e10)[1] == [
        "agent-a-h1"
    ]  # an unavailable old pod always goes


def test_max_surge_starts_the_new_pod_beside_the_old_one() -> None:
    pods = [on(n, "h1") for n in "abc"]
    assert dsm.plan(ds(max_unavailable=0, max_surge=1), NODES, pods, "h2", 1e10) == (["a"], [])
    pods.append(on("a", "h2"))
    assert dsm.plan(ds(max_unavailable=0, max_surge=1), NODES, pods, "h2", 1e10)[1] == ["agent-a-h1"]


def test_daemonset_status_counts_per_node() -> None:
    pods = [on("a", "h2"), on("b", "h1", ready=False), on("gone", "h1")]
    status = dsm.status(ds(), NODES, pods, "h2", 1e10)
    assert status == {
        "currentNumberScheduled": 2,
        "numberMisscheduled": 1,
        "desiredNumberScheduled": 3,
        "numberReady": 1,
        "observedGeneration": 1,
        "updatedNumberScheduled": 1,
        "numberAvailable": 1,
        "numberUnavailable": 2,
    }


def job(**spec: Any) -> Obj:
    template = {"spec": {"restartPolicy": spec.pop("restart", "Never")}}
    return {
        "metadata": {"name": "j"},
        "spec": {"completions": 1, "parallelism": 1, "backoffLimit": 6, "template": template, **spec},
    }


def test_a_job_starts_a_pod_then_meets_its_success_criteria_then_completes() -> None:
    assert jm.decide(job(), [], 0, 0, 1e9, 1).create == 1
    assert jm.decide(job(), [pod("j-1")], 0, 0, 1e9, 1).create == 0
    done = jm.decide(job(), [pod("j-1", phase="Succeeded")], 0, 0, 1e9, 1)
    assert [c[0] for c in done.conditions] == ["SuccessCriteriaMet", "Complete"] and done.complete
    assert done.conditions[1][1:] == ("CompletionsReached", "Reached expected number of succeeded pods")


def test_failures_beyond_the_backoff_limit_fail_the_job() -> None:
    failed = [pod("j-1", phase="Failed")]
    again = jm.decide(job(backoffLimit=1), failed, 1, 0, 0.0, 1)
    assert again.create == 0 and again.wait == 10.0  # the replacement waits out the back-off
    assert jm.decide(job(backoffLimit=1), failed, 1, 0, 10.0, 1).create == 1
    out = jm.decide(job(backoffLimit=0), failed, 1, 0, 0.0, 1)
    assert [c[:2] for c in out.conditions] == [
        ("FailureTarget", "BackoffLimitExceeded"),
        ("Failed", "BackoffLimitExceeded"),
    ]


def test_on_failure_restarts_count_against_the_backoff_limit() -> None:
    crashing = pod("j-1", ready=False)
    crashing["status"]["containerStatuses"] = [{"restartCount": 2}]
    out = jm.decide(job(restart="OnFailure", backoffLimit=2), [crashing], 0, 0, 1e9, 1)
    assert out.conditions == [("FailureTarget", *jm.BACKOFF_LIMIT)] and out.delete == ["j-1"]


def test_the_active_deadline_ends_the_job_and_its_pods() -> None:
    running = [pod("j-1")]
    assert jm.decide(job(activeDeadlineSeconds=5), running, 0, 2, 1e9, 1).wait == 3
    out = jm.decide(job(activeDeadlineSeconds=5), running, 0, 5, 1e9, 1)
    assert out.conditions == [("FailureTarget", *jm.DEADLINE)] and out.delete == ["j-1"]
    target = job(activeDeadlineSeconds=5)
    target["status"] = {
        "conditions": [
            {"type": "FailureTarget", "status": "True", "reason": "DeadlineExceeded", "message": "m"}
        ]
    }
    assert jm.decide(target, [], 1, 6, 1e9, 1).conditions == [("Failed", "DeadlineExceeded", "m")]
