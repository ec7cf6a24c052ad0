"""The real kubectl's rollout commands against kubesim's simulated Deployment controller and kubelet:
what a user would see on a real cluster."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.fixtures import Kubectl
from tests.support.process import KubesimProcess

pytestmark = [pytest.mark.system, pytest.mark.kubectl]

REVISION = "deployment.kubernetes.io/revision"
# `kubectl create deployment` would send protobuf, which kubesim reads only for a few kinds: apply JSON instead.
DEPLOYMENT = json.dumps(
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.0"}]},
            },
        },
    }
)


@pytest.fixture(scope="module")
def kubesim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubesimProcess]:
    """This module's kubesim: the kubelet 20 times faster (Ready after 0.1 s, a 10 s back-off lasts 0.5 s), and
    ``bad/*`` images crash-loop (they exit before they would turn Ready)."""
    args = ("--pod-ready-seconds", "2", "--time-scale", "0.05", "--fail-image", "bad/*")
    with KubesimProcess(tmp_path_factory.mktemp("kubesim-rollout"), *args) as sim:
        yield sim


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"kubectl failed ({result.returncode}): {result.stderr}"
    return result.stdout


def get_json(kubectl: Kubectl, *args: str) -> Any:
    return json.loads(ok(kubectl("get", *args, "-o", "json")))


@pytest.fixture
def ns(kubectl: Kubectl, request: pytest.FixtureRequest) -> str:
    """A fresh namespace with a 2-replica Deployment ``web`` rolled out at nginx:1.0."""
    name = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:50].strip("-")
    ok(kubectl("create", "namespace", name))
    ok(kubectl("-n", name, "apply", "-f", "-", input=DEPLOYMENT))
    ok(kubectl("-n", name, "rollout", "status", "deployment/web", "--timeout=30s"))
    return name


def set_image(kubectl: Kubectl, ns: str, image: str) -> None:
    ok(kubectl("-n", ns, "set", "image", "deployment/web", f"app={image}"))


def replica_sets_by_revision(kubectl: Kubectl, ns: str) -> dict[str, Any]:
    items = get_json(kubectl, "-n", ns, "replicasets")["items"]
    return {rs["metadata"]["annotations"][REVISION]: rs for rs in items}


def image_of(obj: Any) -> str:
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])


def test_set_image_then_rollout_status_succeeds_and_history_lists_revisions(
    kubectl: Kubectl, ns: str
) -> None:
    set_image(kubectl, ns, "nginx:2.0")
    out = ok(kubectl("-n", ns, "rollout", "status", "deployment/web", "--timeout=30s"))
    assert 'deployment "web" successfully rolled out' in out
    history = ok(kubectl("-n", ns, "rollout", "history", "deployment/web"))
    assert history.splitlines()[0] == "deployment.apps/web "
    assert re.findall(r"^(\d+)\s", history, re.M) == ["1", "2"]
    detail = ok(kubectl("-n", ns, "rollout", "history", "deployment/web", "--revision=2"))
    assert "nginx:2.0" in detail
    rses = replica_sets_by_revision(kubectl, ns)
    assert rses["1"]["spec"]["replicas"] == 0 and rses["2"]["spec"]["replicas"] == 2
    pods = get_json(kubectl, "-n", ns, "pods")["items"]
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {"nginx:2.0"}


def test_rollout_undo_and_to_revision_restore_earlier_images(kubectl: Kubectl, ns: str) -> None:
    set_image(kubectl, ns, "nginx:2.0")
    ok(kubectl("-n", ns, "rollout", "status", "deployment/web", "--timeout=30s"))
    rs1 = replica_sets_by_revision(kubectl, ns)["1"]["metadata"]["name"]

    assert (
        ok(kubectl("-n", ns, "rollout", "undo", "deployment/web")).strip()
        == "deployment.apps/web rolled back"
    )
    ok(kubectl("-n", ns, "rollout", "status", "deployment/web", "--timeout=30s"))
    dep = get_json(kubectl, "-n", ns, "deployment", "web")
    assert image_of(dep) == "nginx:1.0"
    assert dep["metadata"]["annotations"][REVISION] == "3"
    rses = replica_sets_by_revision(kubectl, ns)
    assert sorted(rses) == ["2", "3"]
    assert rses["3"]["metadata"]["name"] == rs1
    assert rses["3"]["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    history = ok(kubectl("-n", ns, "rollout", "history", "deployment/web"))
    assert re.findall(r"^(\d+)\s", history, re.M) == ["2", "3"]

    out = ok(kubectl("-n", ns, "rollout", "undo", "deployment/web", "--to-revision=2"))
    assert out.strip() == "deployment.apps/web rolled back"
    ok(kubectl("-n", ns, "rollout", "status", "deployment/web", "--timeout=30s"))
    dep = get_json(kubectl, "-n", ns, "deployment", "web")
    assert image_of(dep) == "nginx:2.0"
    assert dep["metadata"]["annotations"][REVISION] == "4"
    assert sorted(replica_sets_by_revision(kubectl, ns)) == ["3", "4"]

    missing = kubectl("-n", ns, "rollout", "undo", "deployment/web", "--to-revision=9")
    assert missing.returncode != 0
    assert "unable to find specified revision 9 in history" in missing.stderr


def test_a_crash_looping_image_exceeds_the_progress_deadline(kubectl: Kubectl, ns: str) -> None:
    ok(kubectl("-n", ns, "patch", "deployment/web", "-p", '{"spec":{"progressDeadlineSeconds":2}}'))
    ok(kubectl("-n", ns, "rollout", "status", "deployment/web", "--timeout=30s"))
    set_image(kubectl, ns, "bad/app:1")
    failed = kubectl("-n", ns, "rollout", "status", "deployment/web", "--timeout=30s")
    assert failed.returncode != 0
    assert 'deployment "web" exceeded its progress deadline' in failed.stderr
    table = ok(kubectl("-n", ns, "get", "pods"))
    assert table.split("\n")[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    crashing = [
        line.split() for line in table.splitlines()[1:] if "CrashLoopBackOff" in line or "Running" in line
    ]
    bad = [row for row in crashing if row[1] == "0/1"]
    assert bad, table
    assert all(int(row[3]) >= 1 for row in bad if row[2] == "CrashLoopBackOff")
    # The old pods keep serving: two are still ready.
    assert sum(1 for row in crashing if row[1] == "1/1") == 2


def test_kubectl_get_pods_shows_crash_loop_back_off_with_restarts(
    kubectl: Kubectl, kubesim: KubesimProcess
) -> None:
    ok(kubectl("run", "crasher", "--image=bad/crash:1", "--restart=Always"))

    def crash_looping() -> list[str] | None:
        row = ok(kubectl("get", "pod", "crasher", "--no-headers")).split()
        return row if row[2] == "CrashLoopBackOff" and int(row[3]) >= 2 else None

    row = kubesim.wait_until(crash_looping, timeout=20, what="CrashLoopBackOff with restarts")
    assert row[1] == "0/1"
    ok(kubectl("delete", "pod", "crasher"))


def test_kubectl_scale_changes_the_pod_count(kubectl: Kubectl, ns: str, kubesim: KubesimProcess) -> None:
    assert (
        ok(kubectl("-n", ns, "scale", "deployment/web", "--replicas=4")).strip()
        == "deployment.apps/web scaled"
    )
    ok(kubectl("-n", ns, "rollout", "status", "deployment/web", "--timeout=30s"))
    assert len(get_json(kubectl, "-n", ns, "pods")["items"]) == 4
    table = ok(kubectl("-n", ns, "get", "deployment", "web", "--no-headers")).split()
    assert table[1:4] == ["4/4", "4", "4"]
    ok(kubectl("-n", ns, "scale", "deployment/web", "--replicas=1"))
    kubesim.wait_until(
        lambda: len(get_json(kubectl, "-n", ns, "pods")["items"]) == 1,
        timeout=15,
        what="scaled down to 1 pod",
    )


def test_kubectl_delete_deployment_removes_replicasets_and_pods(
    kubectl: Kubectl, ns: str, kubesim: KubesimProcess
) -> None:
    out = ok(kubectl("-n", ns, "delete", "deployment", "web", "--timeout=30s"))
    assert out.strip() == 'deployment.apps "web" deleted'
    kubesim.wait_until(
        lambda: not get_json(kubectl, "-n", ns, "replicasets,pods")["items"],
        timeout=15,
        what="RSs and pods gone",
    )


def test_pause_holds_the_rollout_and_resume_finishes_it(
    kubectl: Kubectl, ns: str, kubesim: KubesimProcess
) -> None:
    assert ok(kubectl("-n", ns, "rollout", "pause", "deployment/web")).strip() == "deployment.apps/web paused"
    set_image(kubectl, ns, "nginx:2.0")

    def paused_reason() -> bool:
        dep = get_json(kubectl, "-n", ns, "deployment", "web")
        conds = {c["type"]: c for c in dep["status"].get("conditions", [])}
        return bool(conds.get("Progressing", {}).get("reason") == "DeploymentPaused")

    kubesim.wait_until(paused_reason, timeout=10, what="Progressing DeploymentPaused")
    assert sorted(replica_sets_by_revision(kubectl, ns)) == ["1"]
    assert (
        ok(kubectl("-n", ns, "rollout", "resume", "deployment/web")).strip() == "deployment.apps/web resumed"
    )
    ok(kubectl("-n", ns, "rollout", "status", "deployment/web", "--timeout=30s"))
    assert sorted(replica_sets_by_revision(kubectl, ns)) == ["1", "2"]


def test_rollout_restart_and_change_cause_in_history(kubectl: Kubectl, ns: str) -> None:
    ok(kubectl("-n", ns, "annotate", "deployment/web", "kubernetes.io/change-cause=upgrade to 2.0"))
    set_image(kubectl, ns, "nginx:2.0")
    ok(kubectl("-n", ns, "rollout", "status", "deployment/web", "--timeout=30s"))
    assert (
        ok(kubectl("-n", ns, "rollout", "restart", "deployment/web")).strip()
        == "deployment.apps/web restarted"
    )
    ok(kubectl("-n", ns, "rollout", "status", "deployment/web", "--timeout=30s"))
    history = ok(kubectl("-n", ns, "rollout", "history", "deployment/web")).splitlines()
    assert history[1].split() == ["REVISION", "CHANGE-CAUSE"]
    rows = [line.split(None, 1) for line in history[2:] if line.strip()]
    assert [r[0] for r in rows] == ["1", "2", "3"]
    # As on a real cluster, the Deployment's annotations are copied onto its current ReplicaSet at every sync, so
    # revision 1 (current when annotated) shows the cause too, and so does the restart.
    assert [r[1].strip() for r in rows] == ["upgrade to 2.0"] * 3
    dep = get_json(kubectl, "-n", ns, "deployment", "web")
    assert "kubectl.kubernetes.io/restartedAt" in dep["spec"]["template"]["metadata"]["annotations"]


def test_describe_deployment_names_the_new_and_old_replicasets(kubectl: Kubectl, ns: str) -> None:
    set_image(kubectl, ns, "nginx:2.0")
    ok(kubectl("-n", ns, "rollout", "status", "deployment/web", "--timeout=30s"))
    rses = replica_sets_by_revision(kubectl, ns)
    out = ok(kubectl("-n", ns, "describe", "deployment", "web"))
    new, old = rses["2"]["metadata"]["name"], rses["1"]["metadata"]["name"]
    assert re.search(rf"^NewReplicaSet:\s+{new} \(2/2 replicas created\)", out, re.M), out
    assert re.search(rf"^OldReplicaSets:\s+{old} \(0/0 replicas created\)", out, re.M), out
    assert re.search(
        r"^Replicas:\s+2 desired \| 2 updated \| 2 total \| 2 available \| 0 unavailable", out, re.M
    ), out
    assert re.search(r"^\s+Progressing\s+True\s+NewReplicaSetAvailable", out, re.M), out


def test_rollouts_leave_the_events_a_real_cluster_records(kubectl: Kubectl, ns: str) -> None:
    set_image(kubectl, ns, "nginx:2.0")
    ok(kubectl("-n", ns, "rollout", "status", "deployment/web", "--timeout=30s"))
    rses = replica_sets_by_revision(kubectl, ns)
    out = ok(kubectl("-n", ns, "describe", "deployment", "web"))
    new, old = rses["2"]["metadata"]["name"], rses["1"]["metadata"]["name"]
    assert re.search(
        rf"Normal\s+ScalingReplicaSet\s+.*deployment-controller\s+Scaled up replica set {old} from 0 to 2",
        out,
    )
    assert re.search(rf"Scaled down replica set {old} from \d to 0", out), out
    assert re.search(rf"Scaled up replica set {new} from \d to 2", out), out
    events = get_json(kubectl, "-n", ns, "events", "--field-selector", f"involvedObject.name={new}")["items"]
    assert {e["reason"] for e in events} == {"SuccessfulCreate"}
    assert all(e["message"].startswith(f"Created pod: {new}-") for e in events)


def test_cascade_orphan_keeps_pods_and_a_reapplied_deployment_adopts_them(
    kubectl: Kubectl, ns: str, kubesim: KubesimProcess
) -> None:
    before = {p["metadata"]["name"] for p in get_json(kubectl, "-n", ns, "pods")["items"]}
    ok(kubectl("-n", ns, "delete", "deployment", "web", "--cascade=orphan"))
    rses = get_json(kubectl, "-n", ns, "replicasets")["items"]
    assert len(rses) == 1
    kubesim.wait_until(
        lambda: not get_json(kubectl, "-n", ns, "replicasets")["items"][0]["metadata"].get("ownerReferences"),
        timeout=10,
        what="ReplicaSet orphaned",
    )
    ok(kubectl("-n", ns, "apply", "-f", "-", input=DEPLOYMENT))
    ok(kubectl("-n", ns, "rollout", "status", "deployment/web", "--timeout=30s"))
    after = get_json(kubectl, "-n", ns, "replicasets")["items"]
    assert [rs["metadata"]["name"] for rs in after] == [rses[0]["metadata"]["name"]]
    assert {p["metadata"]["name"] for p in get_json(kubectl, "-n", ns, "pods")["items"]} == before
