"""Job gates end to end, on kubesim and on the real control plane: a migration Job before the change, a smoke Job
after it, as a user sees them with kubectl (the Job's name, labels, owner and conditions; the Deployment untouched
when the migration fails), an operator killed while its gate Job runs, a Job the API server refuses."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from tests.conftest import require_kubectl
from tests.system.cluster import Cluster
from tests.system.harness import Namespace, OperatorProcess, run_kubectl, wait_for

pytestmark = pytest.mark.system

GOOD = "registry.example/web:1.1"
MIGRATE = "registry.example/migrate:1"
MIGRATE_FAILING = "registry.example/migrate:2-crashloop"


def job_gate(name: str, image: str, **spec: Any) -> dict[str, Any]:
    pod = {"restartPolicy": "Never", "containers": [{"name": "migrate", "image": image}]}
    return {"name": name, "job": {"spec": {"template": {"spec": pod}, **spec}}}


class Kubectl:
    """kubectl in the test's namespace."""

    def __init__(self, cluster: Cluster, ns: Namespace) -> None:
        self.kubeconfig = cluster.kubeconfig
        self.ns = ns

    def __call__(self, *args: str) -> str:
        result = run_kubectl(self.kubeconfig, "-n", self.ns.name, *args, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self("get", *args, "-o", "json"))

    def jobs(self, request: str) -> list[dict[str, Any]]:
        """The request's gate Jobs, as kubectl lists them by the operator's label."""
        return list(self.json("jobs", "-l", f"deployreq.dev/request={request}")["items"])


def conditions(obj: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c.get("reason", "") for c in (obj.get("status") or {}).get("conditions") or []}


@pytest.fixture
def kubectl(cluster: Cluster, ns: Namespace) -> Kubectl:
    require_kubectl()
    return Kubectl(cluster, ns)


def test_a_migration_job_runs_before_the_change_and_a_rerun_runs_a_new_one(
    ns: Namespace, kubectl: Kubectl
) -> None:
    ns.deployment()
    ns.request("r", {"app": GOOD}, gates={"pre": [job_gate("migrate", MIGRATE)]})
    done = ns.wait_phase("r", timeout=60)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    (gate,) = done["status"]["gates"]
    assert (gate["name"], gate["stage"], gate["kind"], gate["phase"]) == ("migrate", "pre", "job", "Passed")

    (job,) = kubectl.jobs("r")
    meta = job["metadata"]
    assert gate["lastValue"] == f"Job {meta['name']} complete (1 succeeded)"
    assert len(meta["name"]) <= 63 and meta["name"].startswith("r-migrate-")
    assert (
        meta["labels"]["deployreq.dev/gate"] == "migrate" and meta["labels"]["deployreq.dev/stage"] == "pre"
    )
    assert [(o["kind"], o["name"], o["uid"]) for o in meta["ownerReferences"]] == [
        ("DeploymentRequest", "r", done["metadata"]["uid"])
    ]
    assert job["spec"]["ttlSecondsAfterFinished"] == 3600 and "Complete" in conditions(job)
    # The migration finished before the change: the new ReplicaSet was created after the Job completed.
    (new_rs,) = [
        rs for rs in ns.replicasets() if rs["spec"]["template"]["spec"]["containers"][0]["image"] == GOOD
    ]
    completed = datetime.fromisoformat(job["status"]["completionTime"])
    assert completed <= datetime.fromisoformat(new_rs["metadata"]["creationTimestamp"])

    ns.patch("r", {"metadata": {"annotations": {"deployreq.dev/rerun": "again"}}})
    ns.wait_request(
        "r", lambda r: r["status"].get("observedRerun") == "again" and r["status"]["phase"] == "Succeeded"
    )
    assert len({j["metadata"]["name"] for j in kubectl.jobs("r")}) == 2  # the rerun ran the migration again

    ns.delete("r")  # the Jobs are the request's: deleted with it
    wait_for(
        lambda: kubectl.jobs("r"), lambda items: not items, 60 * ns.slow, "the request's Jobs deleted with it"
    )


def test_a_failing_migration_job_fails_the_request_and_changes_nothing(
    ns: Namespace, kubectl: Kubectl
) -> None:
    ns.deployment()
    before = kubectl.json("deployment", "web")
    ns.request("r", {"app": GOOD}, gates={"pre": [job_gate("migrate", MIGRATE_FAILING, backoffLimit=0)]})
    done = ns.wait_phase("r", timeout=60)
    status = done["status"]
    assert status["phase"] == "Failed" and status["reason"] == "GateFailed", status
    (job,) = kubectl.jobs("r")
    assert conditions(job)["Failed"] == "BackoffLimitExceeded"
    assert f"gate migrate: Job {job['metadata']['name']} failed: BackoffLimitExceeded" in status["message"]
    assert status["gates"][0]["phase"] == "Failed" and status["gates"][0]["final"] is True

    after = kubectl.json("deployment", "web")
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert ns.map.to_test(after["spec"]["template"]) == ns.map.to_test(before["spec"]["template"])
    assert "deployreq.dev/run" not in (after["metadata"].get("annotations") or {})


def test_a_failing_smoke_job_after_the_change_rolls_it_back(ns: Namespace, kubectl: Kubectl) -> None:
    ns.deployment()
    ns.request(
        "r",
        {"app": GOOD},
        verification={"durationSeconds": 600},
        gates={"post": [job_gate("smoke", MIGRATE_FAILING, backoffLimit=0)]},
    )
    done = ns.wait_phase("r", timeout=90)
    status = done["status"]
    assert status["phase"] == "RolledBack", status
    assert "post gate smoke failed" in status["message"] and "BackoffLimitExceeded" in status["message"]
    (job,) = kubectl.jobs("r")
    assert job["metadata"]["labels"]["deployreq.dev/stage"] == "post"
    assert ns.images() == {"app": "registry.example/web:1.0"}


def test_a_job_the_api_server_refuses_fails_the_request_at_once(ns: Namespace, kubectl: Kubectl) -> None:
    ns.deployment()
    gate = job_gate("migrate", MIGRATE)
    gate["job"]["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"  # a typo
    ns.request("r", {"app": GOOD}, gates={"pre": [gate]})
    status = ns.wait_phase("r", timeout=60)["status"]
    assert status["phase"] == "Failed" and status["reason"] == "GateFailed", status
    assert "the API server refused Job r-migrate-" in status["message"]
    assert 'unknown field "spec.template.spec.containers[0].imagePullPolice"' in status["message"]
    assert kubectl.jobs("r") == []
    assert ns.images() == {"app": "registry.example/web:1.0"}


def test_an_operator_killed_while_its_gate_job_runs_finds_it_again(
    ns: Namespace, kubectl: Kubectl, operator: OperatorProcess
) -> None:
    ns.deployment()
    # Suspended: the Job runs no pod until the test lets it, so the operator is surely killed while it waits.
    ns.request("r", {"app": GOOD}, gates={"pre": [job_gate("migrate", MIGRATE, suspend=True)]})
    (job,) = wait_for(
        lambda: kubectl.jobs("r"), lambda items: len(items) == 1, 30 * ns.slow, "the gate's Job"
    )
    operator.kill()
    operator.start()
    wait_for(
        operator.log,
        lambda log: f"found its Job {job['metadata']['name']}" in log.rsplit("===== start", 1)[-1],
        30 * ns.slow,
        "the restarted operator finding its Job",
    )
    kubectl("patch", "job", job["metadata"]["name"], "--type=merge", "-p", '{"spec": {"suspend": false}}')
    done = ns.wait_phase("r", timeout=60)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert [j["metadata"]["uid"] for j in kubectl.jobs("r")] == [job["metadata"]["uid"]]  # no second Job


def test_a_job_still_running_at_the_gates_timeout_is_deleted_and_the_request_fails(
    ns: Namespace, kubectl: Kubectl
) -> None:
    ns.deployment()
    gate = job_gate("migrate", MIGRATE, suspend=True)  # never starts: only the gate's timeout can end it
    gate["job"]["timeoutSeconds"] = 10
    ns.request("r", {"app": GOOD}, gates={"pre": [gate]})
    status = ns.wait_phase("r", timeout=60)["status"]
    assert status["phase"] == "Failed" and status["reason"] == "GateFailed", status
    assert "did not finish within 10s; the operator deleted it" in status["message"]
    wait_for(lambda: kubectl.jobs("r"), lambda items: not items, 30 * ns.slow, "the late Job deleted")
    assert ns.images() == {"app": "registry.example/web:1.0"}
