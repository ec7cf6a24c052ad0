"""Requests of StatefulSets, DaemonSets and several workloads (spec.workloads), on kubesim and on the real control
plane: each kind rolls out and rolls back as ``kubectl rollout undo KIND/NAME`` would (the revisions ``kubectl rollout
history`` shows), a release of three whose third crash-loops ends with all three back, and an operator killed in the
middle of such a rollback ends it correctly without writing any workload twice."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import require_kubectl
from tests.system.cluster import Cluster
from tests.system.harness import KubesimProcess, Namespace, OperatorProcess, run_kubectl
from tests.system.test_cli import cli

pytestmark = pytest.mark.system

V1, V2, BAD = "registry.example/web:1.0", "registry.example/web:1.1", "registry.example/web:2.0-crashloop"
PLURALS = {"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}


def history(cluster: Cluster, ns: Namespace, kind: str, name: str) -> list[str]:
    """The revisions ``kubectl rollout history KIND/NAME`` lists."""
    result = run_kubectl(cluster.kubeconfig, "-n", ns.name, "rollout", "history", f"{kind.lower()}/{name}")
    assert result.returncode == 0, result.stderr
    return re.findall(r"^(\d+)\s", result.stdout, re.M)


def rollout_status(cluster: Cluster, ns: Namespace, kind: str, name: str) -> None:
    timeout = f"--timeout={int(60 * ns.slow)}s"
    result = run_kubectl(
        cluster.kubeconfig, "-n", ns.name, "rollout", "status", f"{kind.lower()}/{name}", timeout
    )
    assert result.returncode == 0, result.stderr


def entries(done: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {w["name"]: w for w in (done.get("status") or {}).get("workloads") or []}


@pytest.mark.parametrize("kind", ["StatefulSet", "DaemonSet"])
def test_a_request_of_one_workload_succeeds_then_one_crash_looping_rolls_back(
    cluster: Cluster, ns: Namespace, kind: str
) -> None:
    require_kubectl()
    ns.workload(kind, "db")
    rollout_status(cluster, ns, kind, "db")
    ns.release("good", [(kind, "db", V2)])
    done = ns.wait_phase("good", timeout=60)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert done["status"]["target"] == f"{kind.lower()}/db"
    assert entries(done)["db"]["revision"] == 2 and history(cluster, ns, kind, "db") == ["1", "2"]
    assert ns.workload_image(kind, "db") == V2

    # The crash-looping release of a DaemonSet undoes itself; a StatefulSet whose own pod crash-loops is stuck
    # until that pod is deleted (Kubernetes' "forced rollback"), so its undo is shown after a later workload fails.
    workloads = [(kind, "db", V2 if kind == "StatefulSet" else BAD)]
    if kind == "StatefulSet":
        workloads = [(kind, "db", "registry.example/web:1.2"), ("DaemonSet", "agent", BAD)]
        ns.workload("DaemonSet", "agent")
    ns.release("bad", workloads)
    done = ns.wait_phase("bad", timeout=90)
    assert done["status"]["phase"] == "RolledBack", done["status"]
    assert ns.workload_image(kind, "db") == V2
    db = entries(done)["db"]
    assert db["rollback"]["targetRevision"] == 2
    # kubectl's undo makes revision 2 current again under the next number, which the status records
    assert history(cluster, ns, kind, "db") == ["1", "3", "4"] and db["revision"] == 4


def test_three_workloads_whose_third_crash_loops_all_end_on_their_previous_images_and_revisions(
    cluster: Cluster, ns: Namespace
) -> None:
    require_kubectl()
    ns.deployment()
    ns.workload("StatefulSet", "db")
    ns.workload("DaemonSet", "agent")
    for kind, name in (("StatefulSet", "db"), ("DaemonSet", "agent")):
        rollout_status(cluster, ns, kind, name)
    three = [("Deployment", "web", V2), ("StatefulSet", "db", V2), ("DaemonSet", "agent", BAD)]
    ns.release("release", three)
    done = ns.wait_phase("release", timeout=120)
    assert done["status"]["phase"] == "RolledBack", done["status"]
    assert "daemonset/agent" in done["status"]["failure"]
    for kind, name, _ in three:
        assert ns.workload_image(kind, name) == V1, (kind, name)
        entry = entries(done)[name]
        assert entry["patchedGeneration"] and entry["rollback"]["targetRevision"] == 1
        assert entry["revision"] == 3 and history(cluster, ns, kind, name) == ["2", "3"], (kind, name)
    table = run_kubectl(cluster.kubeconfig, "-n", ns.name, "get", "dreq", "release").stdout
    assert "deployment/web,statefulset/db,daemonset/agent" in table


def workload_writes(audit: list[dict[str, Any]], namespace: str) -> dict[str, list[dict[str, Any]]]:
    writes: dict[str, list[dict[str, Any]]] = {}
    for r in audit:
        if (
            r.get("namespace") == namespace
            and r.get("resource") in PLURALS.values()
            and r.get("verb") in ("patch", "update")
            and r.get("code") == 200
            and not r.get("subresource")
            and r.get("userAgent", "").startswith("deployreq")
        ):
            writes.setdefault(str(r["resource"]), []).append(r)
    return writes


@pytest.mark.kubesim_only("counts the operator's workload writes in kubesim's audit trail")
def test_sigkill_during_a_multi_workload_rollback_ends_rolled_back_without_writing_any_workload_twice(
    kubesim: KubesimProcess, operator: OperatorProcess, ns: Namespace
) -> None:
    ns.deployment()
    ns.workload("StatefulSet", "db")
    ns.workload("DaemonSet", "agent")
    three = [("Deployment", "web", V2), ("StatefulSet", "db", V2), ("DaemonSet", "agent", BAD)]
    ns.release("release", three)

    def third_patched(obj: dict[str, Any]) -> bool:
        return bool(entries(obj).get("agent", {}).get("patchedAt"))

    ns.wait_request("release", third_patched, 90, "the third workload's patch")
    # From now on StatefulSet writes are refused: the rollback undoes the DaemonSet, then cannot undo the
    # StatefulSet, so it is half done when the operator dies, whatever the timing.
    kubesim.admin("PUT", "faults", {"rules": [{"code": 503, "verb": "patch", "resource": "statefulsets"}]})
    try:

        def agent_undone(obj: dict[str, Any]) -> bool:
            return bool((entries(obj).get("agent", {}).get("rollback") or {}).get("patchedGeneration"))

        ns.wait_request("release", agent_undone, 90, "the DaemonSet's undo")
        operator.kill()
        at_kill = ns.get("release")["status"]
    finally:
        kubesim.admin("PUT", "faults", {})
    assert at_kill["phase"] == "RollingBack", at_kill
    before = workload_writes(kubesim.audit(), ns.name)
    assert {plural: len(w) for plural, w in before.items()} == {
        "deployments": 1,
        "statefulsets": 1,
        "daemonsets": 2,
    }
    operator.start()
    done = ns.wait_phase("release", timeout=90)
    assert done["status"]["phase"] == "RolledBack", done["status"]
    after = workload_writes(kubesim.audit(), ns.name)
    assert {plural: len(w) for plural, w in after.items()} == {
        "deployments": 2,
        "statefulsets": 2,
        "daemonsets": 2,
    }
    for kind, name, _ in three:
        assert ns.workload_image(kind, name) == V1


def test_the_cli_creates_a_release_shows_each_workload_and_rolls_a_statefulset_back(
    cluster: Cluster, ns: Namespace
) -> None:
    require_kubectl()
    ns.workload("StatefulSet", "db")
    rollout_status(cluster, ns, "StatefulSet", "db")
    timeout = str(int(90 * ns.slow))
    image = f"app={ns.map.real(V2)}"
    created = cli(
        cluster,
        "create",
        "up",
        "-n",
        ns.name,
        "--workload",
        "statefulset/db",
        "--image",
        image,
        "--wait",
        "--timeout",
        timeout,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    status = cli(cluster, "status", "up", "-n", ns.name).stdout
    assert "Workloads:" in status and "rolled out (revision 1 -> 2)" in status, status
    back = cli(
        cluster, "rollback", "statefulset/db", "-n", ns.name, "--name", "back", "--wait", "--timeout", timeout
    )
    assert back.returncode == 0, back.stdout + back.stderr
    assert 'rollback restores the images from before request "up"' in back.stdout
    assert ns.workload_image("StatefulSet", "db") == V1


def test_a_statefulset_whose_own_new_pod_crash_loops_is_undone_but_stays_stuck_as_kubernetes_leaves_it(
    cluster: Cluster, ns: Namespace
) -> None:
    """Kubernetes' forced rollback: the StatefulSet controller waits for its broken pod to become ready before it
    replaces it, so after the undo the pod must be deleted by hand; the request says so instead of hanging."""
    require_kubectl()
    ns.workload("StatefulSet", "db")
    rollout_status(cluster, ns, "StatefulSet", "db")
    ns.release("bad", [("StatefulSet", "db", BAD)], rollout={"timeoutSeconds": 10})
    done = ns.wait_phase("bad", timeout=90)
    assert ns.workload_image("StatefulSet", "db") == V1  # the undo was written
    db = entries(done)["db"]
    assert done["status"]["phase"] == "Failed" and done["status"]["reason"] == "RollbackFailed", done[
        "status"
    ]
    assert "its rollback did not become available" in db["leftAlone"], db
