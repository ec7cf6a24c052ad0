"""Issue 16, finding 10, against a kubesim process: HTTPS with the CA in the kubeconfig (kubectl verifies it and
sends its token), requests without credentials as ``system:anonymous`` with what the bootstrap policy gives them,
the real 401 for a wrong token; and the bootstrap objects a client notices (the default ClusterRoles and bindings
with aggregation, a ``default`` ServiceAccount and the ``kube-root-ca.crt`` ConfigMap in every namespace), kept
as kube-controller-manager keeps them. Bodies as kube-apiserver v1.36 answers them (make fidelity)."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes import config as k8s_config
from kubernetes.client.rest import ApiException

from tests.support.fixtures import Kubectl
from tests.support.kubectl import run_kubectl
from tests.support.process import KubesimProcess

pytestmark = pytest.mark.system


def ok(result: object) -> str:
    assert getattr(result, "returncode", 1) == 0, getattr(result, "stderr", "")
    return str(getattr(result, "stdout", ""))


def raw(kubesim: KubesimProcess, path: str, token: str | None = None) -> tuple[int, Any]:
    """GET over HTTPS (kubesim's CA) with the given bearer token, or none; the code and the parsed answer."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    request = urllib.request.Request(f"{kubesim.url}{path}", headers=headers)
    try:
        with kubesim.open(request) as response:
            text = response.read().decode()
            return response.status, text if path in PUBLIC else json.loads(text)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


PUBLIC = ("/healthz", "/livez", "/readyz")


def status(message: str, reason: str, code: int, details: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        out["details"] = details
    return {**out, "code": code}


def test_anonymous_gets_the_public_info_and_nothing_else(kubesim: KubesimProcess) -> None:
    for path in PUBLIC:
        assert raw(kubesim, path) == (200, "ok")
    code, version = raw(kubesim, "/version")
    assert code == 200 and version["major"] == "1"
    assert raw(kubesim, "/api") == (
        403,
        status('forbidden: User "system:anonymous" cannot get path "/api"', "Forbidden", 403, {}),
    )
    assert raw(kubesim, "/api/v1/namespaces") == (
        403,
        status(
            'namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" in API group "" '
            "at the cluster scope",
            "Forbidden",
            403,
            {"kind": "namespaces"},
        ),
    )
    assert raw(kubesim, "/kubesim/audit")[0] == 403  # kubesim's own admin API is not public either


def test_a_wrong_token_is_401_even_on_public_paths(kubesim: KubesimProcess) -> None:
    unauthorized = status("Unauthorized", "Unauthorized", 401, None)
    assert raw(kubesim, "/api/v1/namespaces", token="wrong") == (401, unauthorized)
    assert raw(kubesim, "/healthz", token="wrong") == (401, unauthorized)


def test_kubectl_verifies_the_ca_and_sends_its_token(
    kubectl: Kubectl, kubesim: KubesimProcess, tmp_path: Path
) -> None:
    # listing namespaces needs the admin token: kubectl sent it over the verified connection
    assert "kube-system" in ok(kubectl("get", "namespaces", "-o", "name"))
    # the kubernetes Python client verifies the same CA; without its token it fails loudly as system:anonymous
    # instead of becoming the admin
    config = yaml.safe_load(kubesim.kubeconfig.read_text())
    del config["users"][0]["user"]["token"]
    tokenless = tmp_path / "tokenless"
    tokenless.write_text(yaml.safe_dump(config))
    core = client.CoreV1Api(k8s_config.new_client_from_config(config_file=str(tokenless)))
    with pytest.raises(ApiException) as denied:
        core.list_namespaced_config_map("default")
    assert denied.value.status == 403
    assert (
        'User "system:anonymous" cannot list resource "configmaps"'
        in json.loads(denied.value.body)["message"]
    )
    # a kubeconfig without the CA is refused by kubectl's own verification
    config = yaml.safe_load(kubesim.kubeconfig.read_text())
    del config["clusters"][0]["cluster"]["certificate-authority-data"]
    unverified = tmp_path / "unverified"
    unverified.write_text(yaml.safe_dump(config))
    refused = run_kubectl(unverified, "get", "namespaces")
    assert refused.returncode != 0 and "certificate signed by unknown authority" in refused.stderr


def test_every_namespace_gets_its_default_service_account_and_root_ca(
    kubectl: Kubectl, kubesim: KubesimProcess
) -> None:
    ok(kubectl("create", "namespace", "boot1"))
    ok(kubectl("wait", "--for=create", "serviceaccount/default", "configmap/kube-root-ca.crt", "-n", "boot1"))
    configmap = json.loads(ok(kubectl("get", "configmap", "kube-root-ca.crt", "-n", "boot1", "-o", "json")))
    assert configmap["data"] == {"ca.crt": kubesim.ca_pem.decode()}
    assert configmap["metadata"]["annotations"]["kubernetes.io/description"].startswith(
        "Contains a CA bundle that can be used to verify the kube-apiserver"
    )
    cluster = yaml.safe_load(kubesim.kubeconfig.read_text())["clusters"][0]["cluster"]
    assert base64.b64decode(cluster["certificate-authority-data"]) == kubesim.ca_pem
    # deleted or changed, they come back as the controllers keep them
    ok(kubectl("delete", "serviceaccount", "default", "-n", "boot1"))
    ok(kubectl("delete", "configmap", "kube-root-ca.crt", "-n", "boot1"))
    ok(kubectl("wait", "--for=create", "serviceaccount/default", "configmap/kube-root-ca.crt", "-n", "boot1"))
    ok(kubectl("patch", "configmap", "kube-root-ca.crt", "-n", "boot1", "-p", '{"data":{"ca.crt":"x"}}'))
    kubesim.wait_until(
        lambda: (
            raw(kubesim, "/api/v1/namespaces/boot1/configmaps/kube-root-ca.crt", kubesim.token)[1]["data"]
            == {"ca.crt": kubesim.ca_pem.decode()}
        ),
        what="the CA put back",
    )


def test_bootstrap_cluster_roles_aggregate_and_can_be_bound(kubectl: Kubectl) -> None:
    roles = ok(kubectl("get", "clusterroles", "-o", "name"))
    for name in ("cluster-admin", "admin", "edit", "view", "system:discovery", "system:basic-user"):
        assert f"clusterrole.rbac.authorization.k8s.io/{name}\n" in roles
    view = json.loads(ok(kubectl("get", "clusterrole", "view", "-o", "json")))
    assert any("pods" in rule.get("resources", []) for rule in view["rules"])
    assert not any("secrets" in rule.get("resources", []) for rule in view["rules"])
    # a CRD author's role labelled aggregate-to-view extends view, and through it edit and admin
    widget_rule = {"verbs": ["get"], "apiGroups": ["example.com"], "resources": ["widgets"]}
    ok(
        kubectl(
            "create",
            "-f",
            "-",
            input=json.dumps(
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRole",
                    "metadata": {
                        "name": "widgets-view",
                        "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"},
                    },
                    "rules": [widget_rule],
                }
            ),
        )
    )
    for name in ("view", "edit", "admin"):
        ok(
            kubectl(
                "wait",
                "--for=jsonpath={.rules[?(@.apiGroups[0]=='example.com')].resources[0]}=widgets",
                f"clusterrole/{name}",
            )
        )
    # the default roles mean what they mean on a real cluster
    ok(kubectl("create", "namespace", "boot2"))
    ok(
        kubectl(
            "create",
            "rolebinding",
            "sa-view",
            "--clusterrole=view",
            "--serviceaccount=boot2:default",
            "-n",
            "boot2",
        )
    )
    sa = "--as=system:serviceaccount:boot2:default"
    assert ok(kubectl("auth", "can-i", "list", "pods", "-n", "boot2", sa)).strip() == "yes"
    assert kubectl("auth", "can-i", "get", "secrets", "-n", "boot2", sa).stdout.strip() == "no"
    assert kubectl("auth", "can-i", "list", "pods", "-n", "default", sa).stdout.strip() == "no"
