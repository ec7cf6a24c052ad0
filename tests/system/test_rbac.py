"""The operator runs as the ServiceAccount and ClusterRole of manifests/, under kubesim's RBAC enforcement: the role
is sufficient (a full scenario passes without one 403) and minimal (without any one rule, some call gets 403)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from tests.conftest import require_kubectl
from tests.system.harness import (
    KubesimProcess,
    Namespace,
    OperatorProcess,
    StubServer,
    api_client,
    run_kubectl,
    wait_for,
)

pytestmark = [
    pytest.mark.system,
    pytest.mark.kubesim_only(
        "starts its own kubesim with RBAC enforcement; on kind, test_installed_operator.py runs the operator "
        "as the manifests' ServiceAccount"
    ),
]
ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "deployreq-system"
SA_USER = f"system:serviceaccount:{NAMESPACE}:deployreq"
OPERATOR_FLAGS = ("--gate-allow-cidr", "127.0.0.0/8", "--gate-service-transport", "proxy")
OVERLAY = ROOT / "manifests" / "overlays" / "single-service-proxy"  # the one that grants the proxy


class Installed:
    def __init__(self, sim: KubesimProcess, kubeconfig: Path, roles: list[dict[str, Any]]) -> None:
        self.sim = sim
        self.kubeconfig = kubeconfig
        self.roles = roles


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    require_kubectl()
    workdir = tmp_path_factory.mktemp("rbac")
    sim = KubesimProcess(
        workdir,
        "--pod-ready-seconds",
        "0.1",
        "--fail-image",
        "*-crashloop",
        "--crash-after-seconds",
        "0.05",
    )
    sim.start()
    try:
        applied = run_kubectl(sim.kubeconfig, "apply", "-k", str(OVERLAY))
        assert applied.returncode == 0, applied.stderr
        token = run_kubectl(sim.kubeconfig, "create", "token", "deployreq", "-n", "deployreq-system")
        assert token.returncode == 0, token.stderr
        config = yaml.safe_load(sim.kubeconfig.read_text())
        config["users"] = [{"name": "deployreq", "user": {"token": token.stdout.strip()}}]
        config["contexts"][0]["context"]["user"] = "deployreq"
        sa_config = workdir / "operator-kubeconfig"
        sa_config.write_text(yaml.safe_dump(config))
        rendered = run_kubectl(sim.kubeconfig, "kustomize", str(OVERLAY)).stdout
        docs = [d for d in yaml.safe_load_all(rendered) if d]
        # The operator's roles: those bound to its ServiceAccount (not deployreq-requester and -approver, for people)
        bound = {d["roleRef"]["name"] for d in docs if d["kind"] == "ClusterRoleBinding"}
        roles = [d for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"] in bound]
        yield Installed(sim, sa_config, roles)
    finally:
        sim.stop()


def forbidden_calls(sim: KubesimProcess) -> list[dict[str, Any]]:
    return [r for r in sim.audit() if r.get("user") == SA_USER and r.get("code") == 403]


def scenario(installed: Installed, app: StubServer, wait: bool = True) -> tuple[Namespace, list[str]]:
    """A release with a Secret-backed service gate and a migration Job that succeeds, then one that crash-loops and
    is rolled back, then one of a StatefulSet (spec.workloads)."""
    ns = Namespace(api_client(installed.sim.kubeconfig))
    # A DeployPolicy of the namespace, without guardrails: the operator writes its status (docs/policy.md).
    client.CustomObjectsApi(ns.api).create_cluster_custom_object(
        "deployreq.dev",
        "v1alpha1",
        "deploypolicies",
        {
            "apiVersion": "deployreq.dev/v1alpha1",
            "kind": "DeployPolicy",
            "metadata": {"name": f"rbac-{ns.name}"},
            "spec": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns.name}}},
        },
    )
    ns.core.create_namespaced_secret(
        ns.name,
        {
            "metadata": {"name": "auth", "labels": {"deployreq.dev/gate-secret": "true"}},
            "data": {"token": base64.b64encode(b"t0ken").decode()},
        },
    )
    ns.core.create_namespaced_service(
        ns.name,
        {
            "metadata": {"name": "web", "annotations": {"kubesim.deployreq.dev/proxy-to": app.url}},
            "spec": {"ports": [{"port": 80}]},
        },
    )
    ns.deployment()
    gate = {
        "name": "ready",
        "intervalSeconds": 1,
        "failureThreshold": 2,
        "http": {
            "service": {"name": "web", "port": 80, "path": "/ready"},
            "headers": [{"name": "X-Token", "valueFrom": {"secretKeyRef": {"name": "auth", "key": "token"}}}],
        },
    }
    migrate = {"restartPolicy": "Never", "containers": [{"name": "m", "image": "registry.example/migrate:1"}]}
    ns.request(
        "good",
        {"app": "registry.example/web:1.1"},
        retry={"attempts": 0, "backoffSeconds": 1},
        gates={"pre": [gate, {"name": "migrate", "job": {"spec": {"template": {"spec": migrate}}}}]},
    )
    ns.workload("StatefulSet", "db")
    kinds = [("StatefulSet", "db", "registry.example/web:1.1")]
    if not wait:
        ns.request("bad", {"app": "registry.example/web:2.0-crashloop"})
        ns.release("kinds", kinds)
        return ns, []
    phases = [ns.wait_phase("good", timeout=30)["status"]["phase"]]
    ns.request("bad", {"app": "registry.example/web:2.0-crashloop"})
    phases.append(ns.wait_phase("bad", timeout=30)["status"]["phase"])
    ns.release("kinds", kinds)
    phases.append(ns.wait_phase("kinds", timeout=30)["status"]["phase"])
    return ns, phases


@pytest.fixture(scope="module")
def app() -> Iterator[StubServer]:
    server = StubServer(lambda method, path, body: (200, '{"ok": true}'))
    yield server
    server.close()


def test_the_manifests_role_is_enough_for_a_full_scenario(installed: Installed, app: StubServer) -> None:
    operator = OperatorProcess(installed.kubeconfig, installed.sim.workdir, "rbac-operator", OPERATOR_FLAGS)
    operator.start()
    try:
        ns, phases = scenario(installed, app)
    finally:
        operator.stop()
    assert phases == ["Succeeded", "RolledBack", "Succeeded"], operator.log()[-3000:]
    assert forbidden_calls(installed.sim) == []
    calls = {
        (r.get("resource"), r.get("subresource"), r.get("verb"))
        for r in installed.sim.audit()
        if r.get("user") == SA_USER
    }
    assert ("deployments", "", "patch") in calls
    assert ("deploypolicies", "status", "patch") in calls  # the policy's status (rule deploypolicies/status)
    shown = client.CustomObjectsApi(ns.api).get_cluster_custom_object(
        "deployreq.dev", "v1alpha1", "deploypolicies", f"rbac-{ns.name}"
    )
    ns.api.close()
    assert shown["status"]["namespaces"] == [ns.name], shown


def test_a_job_gate_may_not_run_as_the_operators_own_service_account(installed: Installed) -> None:
    """The operator knows who it is (its token's subject) and refuses to lend its ServiceAccount to a gate's Job."""
    api = api_client(installed.sim.kubeconfig)
    custom = client.CustomObjectsApi(api)
    pod = {
        "restartPolicy": "Never",
        "serviceAccountName": "deployreq",
        "containers": [{"name": "m", "image": "registry.example/migrate:1"}],
    }
    body = {
        "apiVersion": "deployreq.dev/v1alpha1",
        "kind": "DeploymentRequest",
        "metadata": {"name": "borrow"},
        "spec": {
            "deployment": "web",
            "images": [{"container": "app", "image": "registry.example/web:1.1"}],
            "gates": {"pre": [{"name": "steal", "job": {"spec": {"template": {"spec": pod}}}}]},
        },
    }
    operator = OperatorProcess(installed.kubeconfig, installed.sim.workdir, "rbac-own-sa", OPERATOR_FLAGS)
    operator.start()
    try:
        custom.create_namespaced_custom_object(
            "deployreq.dev", "v1alpha1", NAMESPACE, "deploymentrequests", body
        )
        done = wait_for(
            lambda: custom.get_namespaced_custom_object(
                "deployreq.dev", "v1alpha1", NAMESPACE, "deploymentrequests", "borrow"
            ),
            lambda obj: (obj.get("status") or {}).get("phase") in ("Failed", "Succeeded"),
            30,
            "the request borrowing the operator's ServiceAccount ended",
        )
        custom.delete_namespaced_custom_object(
            "deployreq.dev", "v1alpha1", NAMESPACE, "deploymentrequests", "borrow"
        )
    finally:
        operator.stop()
        api.close()
    status = done["status"]
    assert status["phase"] == "Failed" and "the operator's own" in status["message"], status
    jobs = run_kubectl(installed.sim.kubeconfig, "-n", NAMESPACE, "get", "jobs", "-o", "name")
    assert jobs.returncode == 0 and jobs.stdout.strip() == "", jobs.stdout


def test_without_any_one_rule_some_call_is_forbidden(installed: Installed, app: StubServer) -> None:
    for role in installed.roles:
        for index, rule in enumerate(role["rules"]):
            reduced = {**role, "rules": [r for i, r in enumerate(role["rules"]) if i != index]}
            label = f"{role['metadata']['name']}-{index}"
            result = run_kubectl(installed.sim.kubeconfig, "apply", "-f", "-", input=yaml.safe_dump(reduced))
            assert result.returncode == 0, result.stderr
            installed.sim.admin("DELETE", "audit")
            operator = OperatorProcess(
                installed.kubeconfig, installed.sim.workdir, f"rbac-minus-{label}", OPERATOR_FLAGS
            )
            operator.start()
            try:
                ns, _ = scenario(installed, app, wait=False)
                # Without the rule, some call is refused soon; with every request finished, none was.
                wait_for(
                    lambda space=ns: (
                        forbidden_calls(installed.sim),
                        [(space.get(n).get("status") or {}).get("phase") for n in ("good", "bad", "kinds")],
                    ),
                    lambda seen: (
                        bool(seen[0]) or all(p in ("Succeeded", "RolledBack", "Failed") for p in seen[1])
                    ),
                    30,
                    f"a 403 without rule {label}",
                )
                ns.api.close()
            finally:
                operator.stop()
            assert forbidden_calls(installed.sim), f"rule {label} {rule} is not needed by any call"
        restored = run_kubectl(installed.sim.kubeconfig, "apply", "-f", "-", input=yaml.safe_dump(role))
        assert restored.returncode == 0
