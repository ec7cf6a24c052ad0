"""StatefulSets, DaemonSets and Jobs as a user sees them with the real kubectl, the same on kubesim and on the real
control plane (DEPLOYREQ_CLUSTER=controlplane): ordered rollouts, revisions, ``rollout status|history|undo``, one
daemon pod per Node, Jobs that complete or fail as their images make them (kubesim's kubelet and the control
plane's kwok stages agree)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import require_kubectl
from tests.system.cluster import Cluster
from tests.system.harness import run_kubectl, wait_for

pytestmark = pytest.mark.system


class Kubectl:
    def __init__(self, cluster: Cluster, namespace: str) -> None:
        self.cluster = cluster
        self.namespace = namespace

    def __call__(self, *args: str, input: str | None = None) -> str:
        result = run_kubectl(self.cluster.kubeconfig, "-n", self.namespace, *args, input=input, timeout=90)
        assert result.returncode == 0, f"kubectl {' '.join(args)} failed: {result.stderr}"
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self("get", *args, "-o", "json"))

    def apply(self, obj: dict[str, Any]) -> None:
        self("apply", "-f", "-", input=json.dumps(obj))

    def rollout(self, *args: str) -> str:
        waits = (f"--timeout={int(60 * self.cluster.slow)}s",) if args[0] == "status" else ()
        return self("rollout", *args, *waits)


@pytest.fixture
def kubectl(cluster: Cluster) -> Iterator[Kubectl]:
    require_kubectl()
    name = f"kinds-{uuid.uuid4().hex[:8]}"
    result = run_kubectl(cluster.kubeconfig, "create", "namespace", name)
    assert result.returncode == 0, result.stderr
    yield Kubectl(cluster, name)
    run_kubectl(cluster.kubeconfig, "delete", "namespace", name, "--wait=false")


def workload(kind: str, name: str, image: str, **spec: Any) -> dict[str, Any]:
    template = {
        "metadata": {"labels": {"app": name}},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }
    body = {"selector": {"matchLabels": {"app": name}}, "template": template, **spec}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": body}


def job(name: str, image: str, **spec: Any) -> dict[str, Any]:
    pod_spec = {"restartPolicy": "Never", "containers": [{"name": "app", "image": image}]}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"template": {"spec": pod_spec}, **spec},
    }


def revisions(history: str) -> list[str]:
    return re.findall(r"^(\d+)\s", history, re.M)


def image(obj: Any) -> str:
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])


def test_a_statefulset_rolls_out_in_order_and_rolls_back_with_kubectl(kubectl: Kubectl) -> None:
    kubectl.apply(workload("StatefulSet", "db", "registry.example/db:1", replicas=3))
    assert "partitioned roll out complete: 3 new pods have been updated" in kubectl.rollout(
        "status", "statefulset/db"
    )
    pods = kubectl.json("pods", "-l", "app=db")["items"]
    assert sorted(p["metadata"]["name"] for p in pods) == ["db-0", "db-1", "db-2"]
    assert len({p["spec"]["nodeName"] for p in pods}) > 1  # spread over the Nodes
    first = kubectl.json("statefulset", "db")["status"]["updateRevision"]
    assert {p["metadata"]["labels"]["controller-revision-hash"] for p in pods} == {first}

    kubectl("set", "image", "statefulset/db", "app=registry.example/db:2")
    kubectl.rollout("status", "statefulset/db")
    sts = kubectl.json("statefulset", "db")
    assert sts["status"]["currentRevision"] == sts["status"]["updateRevision"] != first
    assert sts["status"]["updatedReplicas"] == sts["status"]["readyReplicas"] == 3
    assert revisions(kubectl.rollout("history", "statefulset/db")) == ["1", "2"]
    assert "registry.example/db:1" in kubectl.rollout("history", "statefulset/db", "--revision=1")

    assert kubectl.rollout("undo", "statefulset/db").strip() == "statefulset.apps/db rolled back"
    kubectl.rollout("status", "statefulset/db")
    sts = kubectl.json("statefulset", "db")
    assert image(sts) == "registry.example/db:1" and sts["status"]["updateRevision"] == first
    assert revisions(kubectl.rollout("history", "statefulset/db")) == ["2", "3"]
    pods = kubectl.json("pods", "-l", "app=db")["items"]
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {"registry.example/db:1"}


def test_a_partition_holds_the_lower_ordinals_back(kubectl: Kubectl) -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
    kubectl.apply(workload("StatefulSet", "db", "registry.example/db:1", replicas=3, updateStrategy=strategy))
    kubectl.rollout("status", "statefulset/db")
    kubectl("set", "image", "statefulset/db", "app=registry.example/db:2")
    out = kubectl.rollout("status", "statefulset/db")
    assert "partitioned roll out complete: 1 new pods have been updated" in out
    images = {
        p["metadata"]["name"]: p["spec"]["containers"][0]["image"]
        for p in kubectl.json("pods", "-l", "app=db")["items"]
    }
    assert images == {
        "db-0": "registry.example/db:1",
        "db-1": "registry.example/db:1",
        "db-2": "registry.example/db:2",
    }
    status = kubectl.json("statefulset", "db")["status"]
    assert status["currentRevision"] != status["updateRevision"] and status["currentReplicas"] == 2


def test_a_daemonset_runs_one_pod_per_node_and_rolls_back_with_kubectl(kubectl: Kubectl) -> None:
    nodes = kubectl.json("nodes")["items"]
    kubectl.apply(workload("DaemonSet", "agent", "registry.example/agent:1"))
    assert 'daemon set "agent" successfully rolled out' in kubectl.rollout("status", "daemonset/agent")
    pods = kubectl.json("pods", "-l", "app=agent")["items"]
    assert sorted(p["spec"]["nodeName"] for p in pods) == sorted(n["metadata"]["name"] for n in nodes)
    status = kubectl.json("daemonset", "agent")["status"]
    assert status["desiredNumberScheduled"] == status["numberAvailable"] == len(nodes)

    kubectl("set", "image", "daemonset/agent", "app=registry.example/agent:2")
    kubectl.rollout("status", "daemonset/agent")
    assert revisions(kubectl.rollout("history", "daemonset/agent")) == ["1", "2"]
    assert kubectl.rollout("undo", "daemonset/agent").strip() == "daemonset.apps/agent rolled back"
    kubectl.rollout("status", "daemonset/agent")
    assert image(kubectl.json("daemonset", "agent")) == "registry.example/agent:1"
    assert revisions(kubectl.rollout("history", "daemonset/agent")) == ["2", "3"]
    pods = kubectl.json("pods", "-l", "app=agent")["items"]
    assert sorted(p["spec"]["containers"][0]["image"] for p in pods) == ["registry.example/agent:1"] * len(
        nodes
    )


def conditions(obj: Any) -> list[tuple[str, str, str]]:
    return [(c["type"], c["status"], c.get("reason", "")) for c in obj["status"].get("conditions") or []]


def test_a_job_runs_its_pod_to_completion(kubectl: Kubectl) -> None:
    kubectl.apply(job("migrate", "registry.example/migrate:1"))
    kubectl("wait", "--for=condition=Complete", "job/migrate", f"--timeout={int(60 * kubectl.cluster.slow)}s")
    done = kubectl.json("job", "migrate")
    assert conditions(done) == [
        ("SuccessCriteriaMet", "True", "CompletionsReached"),
        ("Complete", "True", "CompletionsReached"),
    ]
    assert (
        done["status"]["succeeded"] == 1
        and done["status"]["ready"] == 0
        and "completionTime" in done["status"]
    )
    (pod,) = kubectl.json("pods", "-l", "job-name=migrate")["items"]
    assert pod["status"]["phase"] == "Succeeded"
    assert ("Ready", "False", "PodCompleted") in conditions(pod)
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")


def test_a_job_whose_image_fails_ends_failed_at_its_backoff_limit(kubectl: Kubectl) -> None:
    kubectl.apply(job("migrate", "registry.example/migrate:2-crashloop", backoffLimit=0))
    kubectl("wait", "--for=condition=Failed", "job/migrate", f"--timeout={int(60 * kubectl.cluster.slow)}s")
    failed = kubectl.json("job", "migrate")
    assert conditions(failed) == [
        ("FailureTarget", "True", "BackoffLimitExceeded"),
        ("Failed", "True", "BackoffLimitExceeded"),
    ]
    assert failed["status"]["failed"] == 1 and "completionTime" not in failed["status"]
    (pod,) = kubectl.json("pods", "-l", "job-name=migrate")["items"]
    assert pod["status"]["phase"] == "Failed" and ("Ready", "False", "PodFailed") in conditions(pod)
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (1, "Error")


def test_a_finished_job_with_a_ttl_is_deleted(kubectl: Kubectl) -> None:
    kubectl.apply(job("once", "registry.example/migrate:1", ttlSecondsAfterFinished=0))
    wait_for(
        lambda: run_kubectl(kubectl.cluster.kubeconfig, "-n", kubectl.namespace, "get", "job", "once"),
        lambda result: result.returncode != 0 and "NotFound" in result.stderr,
        60 * kubectl.cluster.slow,
        "the finished Job deleted by its TTL",
    )
