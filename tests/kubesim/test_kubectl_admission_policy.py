"""ValidatingAdmissionPolicy with the real kubectl against a kubesim process: an approval that names its approver is
refused unless the user the API server authenticated (``request.userInfo.username``, here through ``kubectl --as``)
is that approver; the shape the approval resource of issue 19 uses. The same policy on the real control plane:
tests/fidelity/cases/admission_policy.yaml (user-info-approver)."""

from __future__ import annotations

import json

import pytest

from tests.support.fixtures import Kubectl

pytestmark = pytest.mark.system

POLICY = """
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: approvals-by-approver}
spec:
  failurePolicy: Fail
  matchConstraints:
    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: approvals}}
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [configmaps]}
  matchConditions:
  - {name: is-approval, expression: "has(object.metadata.labels) && 'approval' in object.metadata.labels"}
  validations:
  - expression: "has(object.data) && 'approver' in object.data && object.data.approver == request.userInfo.username"
    messageExpression: "'an approval must name its approver: you are ' + request.userInfo.username"
    reason: Forbidden
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: approvals-by-approver}
spec:
  policyName: approvals-by-approver
  validationActions: [Deny]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: approval-writer, namespace: approvals}
rules:
- {apiGroups: [""], resources: [configmaps], verbs: [create, get, update, patch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: approval-writers, namespace: approvals}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: approval-writer}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: mallory}
"""


def approval(name: str, approver: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "approvals", "labels": {"approval": "true"}},
            "data": {"approver": approver},
        }
    )


def test_an_approval_is_refused_unless_the_authenticated_user_is_its_approver(kubectl: Kubectl) -> None:
    assert kubectl("create", "namespace", "approvals").returncode == 0
    applied = kubectl("apply", "-f", "-", input=POLICY)
    assert applied.returncode == 0, applied.stderr

    forged = kubectl("create", "-f", "-", "--as=mallory", input=approval("web-1", "alice"))
    assert forged.returncode == 1
    assert forged.stderr.strip() == (
        'Error from server (Forbidden): error when creating "STDIN": configmaps "web-1" is forbidden: '
        "ValidatingAdmissionPolicy 'approvals-by-approver' with binding 'approvals-by-approver' denied request: "
        "an approval must name its approver: you are mallory"
    )
    assert kubectl("get", "configmap", "web-1", "-n", "approvals").returncode == 1  # nothing was stored

    real = kubectl("create", "-f", "-", "--as=alice", input=approval("web-1", "alice"))
    assert real.returncode == 0, real.stderr
    # mallory may edit configmaps, but an edit of alice's approval is refused: it is not hers
    edited = kubectl("label", "configmap", "web-1", "-n", "approvals", "--as=mallory", "note=mine")
    assert edited.returncode == 1
    assert "an approval must name its approver: you are mallory" in edited.stderr
    edited = kubectl("label", "configmap", "web-1", "-n", "approvals", "--as=alice", "note=checked")
    assert edited.returncode == 0, edited.stderr


def test_a_warn_binding_is_printed_by_kubectl_and_admits(kubectl: Kubectl) -> None:
    assert kubectl("create", "namespace", "warned").returncode == 0
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "short-names"},
        "spec": {
            "matchConstraints": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "warned"}},
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE"],
                        "resources": ["configmaps"],
                    }
                ],
            },
            "validations": [{"expression": "size(object.metadata.name) <= 5", "message": "keep names short"}],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "short-names"},
        "spec": {"policyName": "short-names", "validationActions": ["Warn"]},
    }
    assert kubectl("create", "-f", "-", input=json.dumps(policy)).returncode == 0
    assert kubectl("create", "-f", "-", input=json.dumps(binding)).returncode == 0
    created = kubectl("create", "configmap", "much-too-long", "-n", "warned")
    assert created.returncode == 0, created.stderr
    assert (
        "Warning: Validation failed for ValidatingAdmissionPolicy 'short-names' with binding 'short-names': "
        "keep names short" in created.stderr
    )
    listed = kubectl("get", "validatingadmissionpolicies,validatingadmissionpolicybindings", "-o", "name")
    assert "validatingadmissionpolicy.admissionregistration.k8s.io/short-names" in listed.stdout
    assert "validatingadmissionpolicybinding.admissionregistration.k8s.io/short-names" in listed.stdout
