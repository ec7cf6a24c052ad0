"""Restart safety, `kubectl wait` on the outcome, and the operator's undo compared with kubectl's."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client import CoordinationV1Api

from tests.conftest import require_kubectl
from tests.system.cluster import Cluster
from tests.system.harness import KubesimProcess, Namespace, OperatorProcess, run_kubectl, wait_for

pytestmark = pytest.mark.system


def deployment_writes(audit: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
    return [
        r
        for r in audit
        if r.get("resource") == "deployments"
        and r.get("namespace") == namespace
        and r.get("verb") in ("patch", "update")
        and r.get("code") == 200
        and not r.get("subresource")
        and r.get("userAgent", "").startswith("deployreq")
    ]


def test_kubectl_wait_blocks_until_the_request_is_complete(cluster: Cluster, ns: Namespace) -> None:
    require_kubectl()
    ns.deployment()
    ns.request("r", {"app": "registry.example/web:1.1"}, verification={"durationSeconds": 2})
    result = run_kubectl(
        cluster.kubeconfig,
        "-n",
        ns.name,
        "wait",
        "--for=condition=Complete",
        "deploymentrequest/r",
        f"--timeout={int(60 * ns.slow)}s",
    )
    assert result.returncode == 0, result.stderr
    assert "condition met" in result.stdout
    assert ns.get("r")["status"]["phase"] == "Succeeded"
    table = run_kubectl(cluster.kubeconfig, "-n", ns.name, "get", "dreq", "-o", "wide").stdout
    assert table.split("\n")[0].split() == [
        "NAME",
        "DEPLOYMENT",
        "IMAGE",
        "TARGET",
        "PRIORITY",
        "PHASE",
        "POSITION",
        "AGE",
        "HELD-BY",
        "MESSAGE",
    ]
    assert "Succeeded" in table


def test_the_operators_undo_leaves_the_deployment_as_kubectls_undo_does(
    cluster: Cluster, operator: OperatorProcess, ns: Namespace
) -> None:
    require_kubectl()
    # The operator's rollback, in the test namespace.
    ns.deployment()
    ns.request("bad", {"app": "registry.example/web:2.0-crashloop"})
    assert ns.wait_phase("bad", timeout=60)["status"]["phase"] == "RolledBack"
    ns.wait_deployment_available()
    ours = ns.get_deployment()
    # kubectl's, from the same starting state in a second namespace the operator has no request in.
    other = Namespace(ns.api, map=ns.map, slow=ns.slow)
    other.deployment()
    run = run_kubectl(
        cluster.kubeconfig,
        "-n",
        other.name,
        "set",
        "image",
        "deployment/web",
        f"app={ns.map.real('registry.example/web:2.0-crashloop')}",
    )
    assert run.returncode == 0, run.stderr
    run = run_kubectl(cluster.kubeconfig, "-n", other.name, "rollout", "undo", "deployment/web")
    assert run.returncode == 0, run.stderr
    assert "rolled back" in run.stdout
    other.wait_deployment_available()
    theirs = other.get_deployment()
    assert ours["spec"]["template"] == theirs["spec"]["template"]
    assert (
        ours["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        == theirs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        == "3"
    )
    ours_rs = sorted(
        (
            rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
            rs["spec"]["template"]["spec"]["containers"][0]["image"],
            rs["spec"]["replicas"],
        )
        for rs in ns.replicasets()
    )
    theirs_rs = sorted(
        (
            rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
            rs["spec"]["template"]["spec"]["containers"][0]["image"],
            rs["spec"]["replicas"],
        )
        for rs in other.replicasets()
    )
    assert ours_rs == theirs_rs
    if cluster.real:
        other.core.delete_namespace(other.name)


@pytest.mark.kubesim_only("counts the operator's Deployment writes in kubesim's audit trail")
def test_sigkill_mid_rollout_then_restart_ends_correctly_without_a_second_patch(
    kubesim: KubesimProcess, operator: OperatorProcess, ns: Namespace
) -> None:
    ns.deployment()
    ns.request("r", {"app": "registry.example/web:1.1"}, verification={"durationSeconds": 8})
    ns.wait_phase("r", "Verifying", timeout=30)
    operator.kill()
    try:
        assert ns.get("r")["status"]["phase"] == "Verifying"
    finally:
        operator.start()
    done = ns.wait_phase("r", timeout=60)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    writes = deployment_writes(kubesim.audit(), ns.name)
    assert len(writes) == 1, writes
    leases = CoordinationV1Api(ns.api)
    wait_for(
        lambda: leases.read_namespaced_lease("deployreq-lock", ns.name).spec.holder_identity,
        lambda holder: not holder,
        10,
        "the namespace lock to be released",
    )


@pytest.mark.kubesim_only("counts the operator's Deployment writes in kubesim's audit trail")
def test_sigkill_while_rolling_back_still_ends_rolled_back(
    kubesim: KubesimProcess, operator: OperatorProcess, ns: Namespace
) -> None:
    ns.deployment()
    ns.request("bad", {"app": "registry.example/web:2.0-crashloop"})
    ns.wait_request("bad", lambda o: bool((o.get("status") or {}).get("patchedAt")), 60, "the image patch")
    # From now on the API server refuses Deployment writes: the undo cannot land, so the rollback is still under way
    # when the operator dies, whatever the timing.
    kubesim.admin("PUT", "faults", {"rules": [{"code": 503, "verb": "patch", "resource": "deployments"}]})
    try:
        ns.wait_phase("bad", "RollingBack", "RolledBack", timeout=60)
        operator.kill()
        at_kill = ns.get("bad")["status"]  # nothing changes it while the operator is dead
    finally:
        kubesim.admin("PUT", "faults", {})
    assert at_kill["phase"] == "RollingBack", f"the kill did not land mid-rollback: {at_kill}"
    # only the image patch so far: the undo is still to come
    assert len(deployment_writes(kubesim.audit(), ns.name)) == 1
    operator.start()
    done = ns.wait_phase("bad", timeout=60)
    assert done["status"]["phase"] == "RolledBack", done["status"]
    assert ns.images() == {"app": "registry.example/web:1.0"}
    assert len(deployment_writes(kubesim.audit(), ns.name)) == 2


@pytest.mark.kubesim_only("cuts watches and compacts history through kubesim's fault injection")
def test_a_rollout_that_happened_while_the_watches_were_down_is_seen_after_410_gone(
    kubesim: KubesimProcess, operator: OperatorProcess, ns: Namespace
) -> None:
    ns.deployment()
    ns.request("first", {"app": "registry.example/web:1.1"})
    assert ns.wait_phase("first", timeout=30)["status"]["phase"] == "Succeeded"
    blind = [{"code": 503, "verb": "watch", "resource": r} for r in ("deployments", "replicasets", "pods")]
    kubesim.admin("PUT", "faults", {"rules": blind})
    kubesim.admin("DELETE", "watches")  # the open watches end and cannot be opened again
    try:
        ns.request("good", {"app": "registry.example/web:1.2"})
        ns.wait_deployment_available()  # the rollout finishes while the operator cannot watch it
        wait_for(ns.images, lambda images: images == {"app": "registry.example/web:1.2"}, 30, "the patch")
        kubesim.admin("POST", "compact")  # resuming from the versions the operator saw is now 410 Gone
    finally:
        kubesim.admin("PUT", "faults", {})
    done = ns.wait_phase("good", timeout=60)
    assert done["status"]["phase"] == "Succeeded", done["status"]
