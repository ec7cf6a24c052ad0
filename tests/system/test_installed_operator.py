"""The operator installed as a platform team installs it: the image built from the Dockerfile and loaded into kind,
``manifests/`` applied with kubectl. Then requests succeed and roll back with the operator running in its pod, its
ServiceAccount may do what the ClusterRole grants and nothing else (judged by the real API server's RBAC), its pod
runs restricted, and with the HA overlay another replica takes over when the leader's pod dies.

Runs with ``DEPLOYREQ_CLUSTER=kind`` (``make e2e-kind``), or on any cluster (``DEPLOYREQ_CLUSTER=kubeconfig``) that
can pull the image named by ``DEPLOYREQ_E2E_OPERATOR_IMAGE``, or on the controlplane cluster (``make e2e-cluster``),
where the image is built with podman and each operator pod kwok shows is run as a podman container with a
TokenRequest token of the pod's ServiceAccount (tests/system/podman_pods.py). kubesim does not run containers, so it
skips there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml

from tests.system.cluster import ROOT, Cluster, install_crds, selected, wait_until_served
from tests.system.harness import Namespace, api_client, run_kubectl, wait_for
from tests.system.podman_pods import PodmanPods, podman_problem

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(
        selected() == "kubesim",
        reason="kubesim runs no containers: the installed operator is tested on kind (make e2e-kind) or a kubeconfig",
    ),
]

IMAGE = "deployreq:0.1.0"  # the tag manifests/base/deployment.yaml names
NAMESPACE = "deployreq-system"
SERVICE_ACCOUNT = f"system:serviceaccount:{NAMESPACE}:deployreq"
LEADER_LEASE = "deployreq-leader"


@pytest.fixture(scope="module")
def operator_image(cluster: Cluster, request: pytest.FixtureRequest) -> str:
    if cluster.kind == "controlplane":
        # kwok's nodes run no containers: the image is built (make image) and each pod run with podman.
        script = ROOT / "scripts" / "cluster_image.py"
        built = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=3600, check=False
        )
        problem = built.stderr.strip() if built.returncode == 2 else podman_problem()
        if problem is not None:
            pytest.skip(f"the controlplane cluster runs the operator image with podman: {problem}")
        assert built.returncode == 0, f"make image failed:\n{built.stdout}\n{built.stderr}"
        return IMAGE
    if cluster.kind == "kubeconfig":
        image = os.environ.get("DEPLOYREQ_E2E_OPERATOR_IMAGE", "")
        if not image:
            pytest.skip("set DEPLOYREQ_E2E_OPERATOR_IMAGE to an operator image this cluster can pull")
        return image
    subprocess.run(["docker", "build", "--tag", IMAGE, str(ROOT)], check=True, timeout=1200)
    request.getfixturevalue("kind_cluster").load_docker_image(IMAGE)
    return IMAGE


def kubectl(cluster: Cluster, *args: str) -> str:
    result = run_kubectl(cluster.kubeconfig, *args, timeout=600)
    assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
    return result.stdout


class Install:
    """``manifests/overlays/<overlay>`` with the operator image set by a kustomize ``images`` entry, as a platform
    team's own overlay would set it."""

    podman: PodmanPods | None = None
    """On the controlplane cluster, the containers that run the operator's pods (their errors and logs)."""

    def __init__(self, cluster: Cluster, image: str) -> None:
        self.cluster = cluster
        self.image = image
        self.dir = cluster.workdir / "install"
        self.dir.mkdir(exist_ok=True)

    def apply(self, overlay: str) -> None:
        entry = {"name": "deployreq", "newName": self.image}
        if "@" in self.image:
            entry["newName"], entry["digest"] = self.image.split("@", 1)
        elif ":" in self.image.rsplit("/", 1)[-1]:
            entry["newName"], entry["newTag"] = self.image.rsplit(":", 1)
        base = os.path.relpath(ROOT / "manifests" / "overlays" / overlay, self.dir)
        (self.dir / "kustomization.yaml").write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "kustomize.config.k8s.io/v1beta1",
                    "kind": "Kustomization",
                    "resources": [base],
                    "images": [entry],
                }
            )
        )
        kubectl(self.cluster, "apply", "-k", str(self.dir))
        kubectl(
            self.cluster,
            "-n",
            NAMESPACE,
            "rollout",
            "status",
            "deployment/deployreq",
            f"--timeout={int(120 * self.cluster.slow)}s",
        )
        wait_until_served(self.cluster.kubeconfig)  # the install's admission policies know the kinds

    @property
    def single(self) -> str:
        """The one-replica overlay a platform team would pick for this server: with the requested-by component
        (docs/approvals.md) where it serves MutatingAdmissionPolicy v1 (Kubernetes 1.36 or later), else without."""
        found = run_kubectl(self.cluster.kubeconfig, "get", "--raw", "/apis/admissionregistration.k8s.io/v1")
        served = found.returncode == 0 and any(
            r["name"] == "mutatingadmissionpolicies" for r in json.loads(found.stdout)["resources"]
        )
        return "single-requested-by" if served else "single"

    def remove(self) -> None:
        run_kubectl(self.cluster.kubeconfig, "delete", "-k", str(self.dir), "--ignore-not-found", "--wait")
        install_crds(self.cluster.kubeconfig)  # the install took the CRD with it; later modules need it

    def pods(self) -> list[dict[str, object]]:
        listing = json.loads(
            kubectl(
                self.cluster,
                "-n",
                NAMESPACE,
                "get",
                "pods",
                "-l",
                "app.kubernetes.io/name=deployreq",
                "-o",
                "json",
            )
        )
        return [p for p in listing["items"] if not p["metadata"].get("deletionTimestamp")]


@pytest.fixture(scope="module")
def installed(cluster: Cluster, operator_image: str) -> Iterator[Install]:
    install = Install(cluster, operator_image)
    pods = None
    if cluster.kind == "controlplane":  # each operator pod kwok shows Running is a podman container
        pods = PodmanPods(
            cluster.kubeconfig, cluster.workdir, NAMESPACE, "app.kubernetes.io/name=deployreq", operator_image
        )
        pods.start()
    install.podman = pods
    try:
        install.apply(install.single)
        yield install
        install.remove()
    finally:
        if pods is not None:
            pods.stop()


@pytest.fixture
def space(cluster: Cluster, installed: Install) -> Iterator[Namespace]:
    namespace = Namespace(api_client(cluster.kubeconfig), map=cluster.image_map(), slow=cluster.slow)
    yield namespace
    namespace.core.delete_namespace(namespace.name)
    namespace.api.close()


def test_the_installed_operator_deploys_and_rolls_back(installed: Install, space: Namespace) -> None:
    space.deployment()
    made = space.request("good", {"app": "registry.example/web:1.1"})
    if installed.single == "single-requested-by":  # who asked, as the API server authenticated them
        me = kubectl(installed.cluster, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
        assert made["metadata"]["annotations"]["deployreq.dev/requested-by"] == me
    assert space.wait_phase("good", timeout=90)["status"]["phase"] == "Succeeded"
    assert space.images() == {"app": "registry.example/web:1.1"}
    space.request("bad", {"app": "registry.example/web:2.0-crashloop"})
    done = space.wait_phase("bad", timeout=120)
    assert done["status"]["phase"] == "RolledBack", done["status"]
    space.wait_deployment_available()
    assert space.images() == {"app": "registry.example/web:1.1"}


@pytest.mark.parametrize(
    ("verb", "resource", "allowed"),
    [
        ("patch", "deployments.apps", True),
        ("patch", "statefulsets.apps", True),
        ("watch", "daemonsets.apps", True),
        ("watch", "controllerrevisions.apps", True),
        ("patch", "controllerrevisions.apps", False),
        ("delete", "statefulsets.apps", False),
        ("watch", "pods", True),
        ("patch", "deploymentrequests.deployreq.dev/status", True),
        ("create", "events", True),
        ("get", "secrets", True),
        ("delete", "deployments.apps", False),
        ("create", "deployments.apps", False),
        ("update", "deployments.apps", False),
        ("delete", "pods", False),
        ("list", "secrets", False),
        ("create", "deploymentrequests.deployreq.dev", False),
        # pruning finished requests (--finished-ttl, --finished-history-limit) deletes them
        ("delete", "deploymentrequests.deployreq.dev", True),
        # approvals are read, never made, by the operator: it cannot approve what it runs
        ("watch", "deployapprovals.deployreq.dev", True),
        ("create", "deployapprovals.deployreq.dev", False),
        ("create", "clusterrolebindings.rbac.authorization.k8s.io", False),
        # the service proxy only with the service-proxy component; Lease rights by name but create
        ("create", "services/proxy", False),
        ("get", "endpoints", False),
        ("update", "leases.coordination.k8s.io/deployreq-lock", True),
        ("update", "leases.coordination.k8s.io/someone-elses-lease", False),
        ("create", "leases.coordination.k8s.io", True),
        # job gates: their Jobs, nothing more (no update, no list; no Pods directly)
        ("create", "jobs.batch", True),
        ("watch", "jobs.batch", True),
        ("delete", "jobs.batch", True),
        ("update", "jobs.batch", False),
        ("create", "cronjobs.batch", False),
        ("create", "pods", False),
    ],
)
def test_its_service_account_may_do_only_what_the_cluster_role_grants(
    installed: Install, verb: str, resource: str, allowed: bool
) -> None:
    result = run_kubectl(
        installed.cluster.kubeconfig,
        "auth",
        "can-i",
        verb,
        resource,
        "--all-namespaces",
        f"--as={SERVICE_ACCOUNT}",
    )
    assert result.stdout.strip() == ("yes" if allowed else "no"), (
        verb,
        resource,
        result.stdout,
        result.stderr,
    )


def test_the_operator_pod_runs_restricted_and_stays_up(installed: Install) -> None:
    (pod,) = installed.pods()
    spec, status = pod["spec"], pod["status"]
    assert isinstance(spec, dict) and isinstance(status, dict)
    (container,) = spec["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    (state,) = status["containerStatuses"]
    assert state["ready"] is True and state["restartCount"] == 0, state


def test_with_the_ha_overlay_another_replica_takes_over_when_the_leader_dies(
    cluster: Cluster, installed: Install
) -> None:
    installed.apply("ha")

    def holder() -> str:
        result = run_kubectl(cluster.kubeconfig, "-n", NAMESPACE, "get", "lease", LEADER_LEASE, "-o", "json")
        if result.returncode != 0:  # no Lease yet: nobody has led so far (a pod can be Ready before it leads)
            assert "NotFound" in result.stderr, result.stderr
            return ""
        return str(json.loads(result.stdout)["spec"].get("holderIdentity") or "")

    names = [str(p["metadata"]["name"]) for p in installed.pods()]  # type: ignore[index]
    assert len(names) == 2, names
    leader = wait_for(holder, lambda h: any(n in h for n in names), 30 * cluster.slow, "a leader")
    (leading,) = [n for n in names if n in leader]
    (standby,) = [n for n in names if n != leading]
    podman = installed.podman
    if podman is not None:
        # kwok shows both pods Ready at once; a standby whose process has not started yet would first see the
        # Lease only after the leader died and rightly wait a whole lease duration from then. Ready as a kubelet
        # would judge it: the standby's own /healthz answers (the standby probe).
        wait_for(
            lambda: podman.probe(standby), lambda a: "standby" in a, 60 * cluster.slow, "the standby ready"
        )
    kubectl(cluster, "-n", NAMESPACE, "delete", "pod", leading, "--grace-period=0", "--force")
    if podman is not None:  # the leader renews until its container is gone, as until a kubelet kills it
        wait_for(
            lambda: leading in podman.running,
            lambda r: not r,
            60 * cluster.slow,
            "the leader's container gone",
        )
    # The lease duration is 15 s: another replica holds the Lease within it (plus the test's slack). Which one is
    # a race: the standby, or the leader's replacement pod when its process starts within a renewal interval and
    # happens to read the leader's last renewal first (every candidate times the lease from its own reading).
    try:
        new = wait_for(holder, lambda h: h not in (leader, ""), 15 + 15 * cluster.slow, "another leader")
        live = [str(p["metadata"]["name"]) for p in installed.pods()]  # type: ignore[index]
        assert any(n in new for n in live) and leading not in new, (new, live)
    except AssertionError as exc:
        if podman is None:
            raise
        raise AssertionError(
            f"{exc}; containers {podman.running}; podman errors {podman.errors[-5:]}; podman calls {podman.steps[-12:]}; "
            f"the Lease: {kubectl(cluster, '-n', NAMESPACE, 'get', 'lease', LEADER_LEASE, '-o', 'json')}; "
            + "".join(f"log of {pod}: {podman.log(pod)[-2000:]}; " for pod in list(podman.running))
        ) from None
    space = Namespace(api_client(cluster.kubeconfig), map=cluster.image_map(), slow=cluster.slow)
    try:
        space.deployment()
        space.request("after-takeover", {"app": "registry.example/web:1.1"})
        assert space.wait_phase("after-takeover", timeout=90)["status"]["phase"] == "Succeeded"
    finally:
        space.core.delete_namespace(space.name)
        space.api.close()
    installed.apply(installed.single)
