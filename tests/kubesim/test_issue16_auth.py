"""Issue 16 with the real kubectl against a kubesim process: impersonation (``--as``, ``--as-group``) checked and
then authorized as the impersonated user, ``kubectl auth can-i`` (SelfSubjectAccessReview, --list:
SelfSubjectRulesReview), SubjectAccessReview, and the protobuf bodies of ``kubectl create
serviceaccount|role|rolebinding``. Messages as kube-apiserver v1.36 answers them (make fidelity)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.support.fixtures import Kubectl
from tests.support.process import KubesimProcess

pytestmark = pytest.mark.system


def ok(result: object) -> str:
    assert getattr(result, "returncode", 1) == 0, getattr(result, "stderr", "")
    return str(getattr(result, "stdout", ""))


def test_create_serviceaccount_role_rolebinding_send_protobuf_and_work(kubectl: Kubectl) -> None:
    ok(kubectl("create", "namespace", "auth1"))
    assert "serviceaccount/sa1 created" in ok(kubectl("create", "serviceaccount", "sa1", "-n", "auth1"))
    assert "role.rbac.authorization.k8s.io/cm-reader created" in ok(
        kubectl("create", "role", "cm-reader", "--verb=get,list", "--resource=configmaps", "-n", "auth1")
    )
    assert "rolebinding.rbac.authorization.k8s.io/sa1-reads created" in ok(
        kubectl(
            "create",
            "rolebinding",
            "sa1-reads",
            "--role=cm-reader",
            "--serviceaccount=auth1:sa1",
            "--user=bob",
            "-n",
            "auth1",
        )
    )
    role = json.loads(ok(kubectl("get", "role", "cm-reader", "-n", "auth1", "-o", "json")))
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]
    binding = json.loads(ok(kubectl("get", "rolebinding", "sa1-reads", "-n", "auth1", "-o", "json")))
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "cm-reader",
    }
    assert {"kind": "ServiceAccount", "name": "sa1", "namespace": "auth1"} in binding["subjects"]
    assert {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"} in binding["subjects"]
    ok(kubectl("create", "clusterrole", "ns-viewer", "--verb=get", "--resource=namespaces"))
    ok(kubectl("create", "clusterrolebinding", "bob-views-ns", "--clusterrole=ns-viewer", "--user=bob"))


def test_impersonation_authorizes_as_the_impersonated_user(kubectl: Kubectl) -> None:
    ok(kubectl("create", "configmap", "c", "-n", "auth1", "--from-literal=a=b"))
    assert "c" in ok(kubectl("get", "configmaps", "-n", "auth1", "--as=system:serviceaccount:auth1:sa1"))
    denied = kubectl("delete", "configmap", "c", "-n", "auth1", "--as=system:serviceaccount:auth1:sa1")
    assert denied.returncode != 0
    assert (
        'configmaps "c" is forbidden: User "system:serviceaccount:auth1:sa1" cannot delete resource "configmaps" '
        'in API group "" in the namespace "auth1"'
    ) in denied.stderr
    nobody = kubectl("get", "configmaps", "-n", "auth1", "--as=carol")
    assert nobody.returncode != 0
    assert 'User "carol" cannot list resource "configmaps"' in nobody.stderr
    # a group grants what its bindings grant
    ok(kubectl("create", "rolebinding", "devs-read", "--role=cm-reader", "--group=devs", "-n", "auth1"))
    assert "c" in ok(kubectl("get", "configmaps", "-n", "auth1", "--as=carol", "--as-group=devs"))


def _as_service_account(
    kubesim: KubesimProcess, token: str, path: str, **headers: str
) -> tuple[int, dict[str, Any]]:
    """A raw request with the ServiceAccount's token and extra headers."""
    request = urllib.request.Request(
        f"{kubesim.url}{path}", headers={"Authorization": f"Bearer {token}", **headers}
    )
    try:
        with kubesim.open(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_impersonation_needs_the_impersonate_verb(kubectl: Kubectl, kubesim: KubesimProcess) -> None:
    token = ok(kubectl("create", "token", "sa1", "-n", "auth1")).strip()
    path = "/api/v1/namespaces/auth1/configmaps"
    code, status = _as_service_account(kubesim, token, path, **{"Impersonate-User": "bob"})
    assert code == 403
    assert status["message"] == (
        'configmaps is forbidden: User "system:serviceaccount:auth1:sa1" cannot impersonate-on:user-info:list '
        'resource "configmaps" in API group "" in the namespace "auth1"'
    )
    ok(
        kubectl(
            "create",
            "clusterrole",
            "impersonate-bob",
            "--verb=impersonate",
            "--resource=users",
            "--resource-name=bob",
        )
    )
    ok(
        kubectl(
            "create",
            "clusterrolebinding",
            "sa1-impersonates",
            "--clusterrole=impersonate-bob",
            "--serviceaccount=auth1:sa1",
        )
    )
    code, listing = _as_service_account(kubesim, token, path, **{"Impersonate-User": "bob"})
    assert code == 200 and [i["metadata"]["name"] for i in listing["items"]] == ["c", "kube-root-ca.crt"]
    # impersonating another user than the one the role names stays refused
    code, _ = _as_service_account(kubesim, token, path, **{"Impersonate-User": "carol"})
    assert code == 403


def test_auth_can_i(kubectl: Kubectl) -> None:
    assert ok(kubectl("auth", "can-i", "delete", "namespaces")).strip() == "yes"
    assert ok(kubectl("auth", "can-i", "list", "configmaps", "-n", "auth1", "--as=bob")).strip() == "yes"
    denied = kubectl("auth", "can-i", "delete", "configmaps", "-n", "auth1", "--as=bob")
    assert (denied.returncode, denied.stdout.strip()) == (1, "no")
    assert ok(kubectl("auth", "can-i", "get", "/healthz", "--as=bob")).strip() == "yes"
    listing = ok(kubectl("auth", "can-i", "--list", "-n", "auth1", "--as=bob"))
    assert "configmaps" in listing and "selfsubjectaccessreviews.authorization.k8s.io" in listing


def test_subject_access_review_reason(kubesim: KubesimProcess) -> None:
    review = kubesim.request(
        "POST",
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": "system:serviceaccount:auth1:sa1",
                "resourceAttributes": {"namespace": "auth1", "verb": "get", "resource": "configmaps"},
            },
        },
    )
    assert review["status"] == {
        "allowed": True,
        "reason": 'RBAC: allowed by RoleBinding "sa1-reads/auth1" of Role "cm-reader" to ServiceAccount "sa1/auth1"',
    }


def test_auth_whoami_names_the_authenticated_user(kubectl: Kubectl, kubesim: KubesimProcess) -> None:
    """SelfSubjectReview (``kubectl auth whoami``): who the server authenticated, after impersonation."""
    review = json.loads(ok(kubectl("auth", "whoami", "-o", "json", "--as=carol", "--as-group=devs")))
    assert review["kind"] == "SelfSubjectReview" and review["apiVersion"] == "authentication.k8s.io/v1"
    assert review["status"] == {"userInfo": {"username": "carol", "groups": ["devs", "system:authenticated"]}}
    assert set(review["metadata"]) == {"creationTimestamp"}
    table = ok(kubectl("auth", "whoami", "--as=system:serviceaccount:auth1:sa1"))
    assert "system:serviceaccount:auth1:sa1" in table
    admin = kubesim.request(
        "POST",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
    )
    assert admin["status"]["userInfo"]["username"] == "kubesim-admin"
